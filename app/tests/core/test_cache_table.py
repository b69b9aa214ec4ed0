import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "board_cache_probe",
    }
}


@pytest.mark.django_db(transaction=True)
def test_migrate_creates_the_database_cache_table():
    """A deployment without Redis (`make run`) gets its cache table from
    `migrate` alone, as no step of theirs runs createcachetable."""
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("migrate", verbosity=0)
        assert "board_cache_probe" in connection.introspection.table_names()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE board_cache_probe")
