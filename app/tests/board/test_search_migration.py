"""Migration 0003 (the search index) deploys without a table rewrite or a write lock's outage."""

import pytest
from django.db import DataError, connection
from django.db.migrations.executor import MigrationExecutor

from board.search import SEARCH_INDEX
from tests.factories import UserFactory

# Real migrations, outside a test transaction (CREATE INDEX CONCURRENTLY refuses one).
pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

BEFORE = ("board", "0002_tag_lowercase_and_deleted_at_checks")
SEARCH = ("board", "0003_post_search_document")


def _migrate(target):
    MigrationExecutor(connection).migrate([target])


@pytest.fixture
def before_search():
    """The schema just before 0003, with posts in it; the latest schema again afterwards."""
    _migrate(BEFORE)
    author = UserFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO post (author, title, content, is_deleted, created_at, updated_at) "
            "SELECT %s, 'post ' || i, 'Some words.', false, now(), now() "
            "FROM generate_series(1, 500) AS i",
            [author.pk],
        )
    try:
        yield
    finally:
        _migrate(SEARCH)


def _one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _relfilenode():
    return _one("SELECT relfilenode FROM pg_class WHERE oid = 'post'::regclass")


def _index_is_valid():
    return _one(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [SEARCH_INDEX]
    )


def test_the_search_migration_does_not_rewrite_the_post_table(before_search):
    assert _index_is_valid() is None  # 0003 reversed: no index
    table_file = _relfilenode()
    _migrate(SEARCH)
    # A rewrite (ADD COLUMN ... STORED, ALTER TYPE) gives the table a new file.
    assert _relfilenode() == table_file
    assert (
        _one(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'post'::regclass "
            "AND attname = 'search_document' AND NOT attisdropped"
        )
        == 0
    )
    assert _index_is_valid() is True
    definition = _one("SELECT pg_get_indexdef(to_regclass(%s))", [SEARCH_INDEX])
    assert "USING gin (to_tsvector('english'::regconfig" in definition, definition
    assert definition.endswith("WHERE (NOT is_deleted)"), definition


def test_an_invalid_index_left_by_a_failed_concurrent_build_is_rebuilt(before_search):
    # A concurrent build that fails half way (here: a division by zero on one row) leaves its
    # index behind, INVALID. IF NOT EXISTS alone would keep it, and search would never use it.
    first = _one("SELECT min(post_no) FROM post")
    with pytest.raises(DataError, match="division by zero"), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX CONCURRENTLY {SEARCH_INDEX} ON post ((1 / (post_no - %s)))", [first]
        )
    assert _index_is_valid() is False
    _migrate(SEARCH)
    assert _index_is_valid() is True
    definition = _one("SELECT pg_get_indexdef(to_regclass(%s))", [SEARCH_INDEX])
    assert "to_tsvector" in definition, definition
