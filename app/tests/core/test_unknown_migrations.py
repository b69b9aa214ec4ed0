import pytest
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder

pytestmark = pytest.mark.django_db


def test_nothing_unknown_on_a_database_migrated_by_this_code(capsys):
    call_command("unknown_migrations")
    assert capsys.readouterr().out == ""


def test_lists_migrations_applied_by_a_newer_release(capsys):
    MigrationRecorder.Migration.objects.create(app="board", name="9999_from_the_future")
    MigrationRecorder.Migration.objects.create(app="accounts", name="0042_newer")
    call_command("unknown_migrations")
    assert capsys.readouterr().out.splitlines() == [
        "accounts.0042_newer",
        "board.9999_from_the_future",
    ]
