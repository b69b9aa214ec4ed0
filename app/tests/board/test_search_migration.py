"""Migrations 0003 (the search index) and 0004 (the search column) deploy without a table
rewrite or a write lock's outage, and 0004 gives every post, old or new, its document."""

import pytest
from django.db import DataError, connection
from django.db.migrations.executor import MigrationExecutor

from board.search import SEARCH_INDEX as COLUMN_INDEX
from tests.factories import PostFactory, UserFactory

# Real migrations, outside a test transaction (CREATE INDEX CONCURRENTLY refuses one).
pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

BEFORE = ("board", "0002_tag_lowercase_and_deleted_at_checks")
SEARCH = ("board", "0003_post_search_document")
COLUMN = ("board", "0004_post_search_document_column")
SEARCH_INDEX = "post_live_search_idx"  # 0003's expression index


def _migrate(target):
    MigrationExecutor(connection).migrate([target])


@pytest.fixture
def before_search():
    """The schema just before 0003, with 500 posts in it; the latest schema again afterwards."""
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
        _migrate(COLUMN)


def _one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _relfilenode():
    return _one("SELECT relfilenode FROM pg_class WHERE oid = 'post'::regclass")


def _index_is_valid(index=SEARCH_INDEX):
    return _one("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [index])


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


def _documents_differing_from_their_text():
    return _one(
        "SELECT count(*) FROM post WHERE search_document IS DISTINCT FROM "
        "to_tsvector('english'::regconfig, title || ' ' || content)"
    )


def test_the_column_migration_fills_old_posts_in_place_and_indexes_them(before_search):
    _migrate(SEARCH)
    table_file = _relfilenode()
    _migrate(COLUMN)
    assert _relfilenode() == table_file  # no rewrite: the column came without a default
    assert _one("SELECT count(*) FROM post") == 500
    assert _documents_differing_from_their_text() == 0  # all 500 filled, in batches
    assert _index_is_valid(COLUMN_INDEX) is True
    definition = _one("SELECT pg_get_indexdef(to_regclass(%s))", [COLUMN_INDEX])
    assert "USING gin (search_document) WHERE (NOT is_deleted)" in definition, definition
    # The release still running when this one migrates searches with 0003's index: it stays.
    assert _index_is_valid() is True


def test_the_trigger_keeps_the_document_of_new_and_edited_posts(before_search):
    _migrate(COLUMN)
    post = PostFactory(title="Fresh words", content="About nginx.")
    post.content = "Now about gunicorn."
    post.save(update_fields=["content"])
    with connection.cursor() as cursor:
        # Written by SQL too, not only by the ORM: the trigger does not care who writes.
        cursor.execute("UPDATE post SET title = 'Renamed' WHERE post_no = %s", [post.pk])
    assert _documents_differing_from_their_text() == 0
    document = _one("SELECT search_document::text FROM post WHERE post_no = %s", [post.pk])
    assert "'gunicorn'" in document and "'renam'" in document, document
    assert "'nginx'" not in document and "'fresh'" not in document, document


def test_reversing_the_column_migration_removes_column_trigger_and_index(before_search):
    _migrate(COLUMN)
    _migrate(SEARCH)
    assert _index_is_valid(COLUMN_INDEX) is None
    assert _one("SELECT count(*) FROM pg_trigger WHERE tgname = 'post_search_document'") == 0
    assert _index_is_valid() is True


def test_an_invalid_column_index_left_by_a_failed_concurrent_build_is_rebuilt(before_search):
    _migrate(COLUMN)
    _migrate(SEARCH)
    first = _one("SELECT min(post_no) FROM post")
    with pytest.raises(DataError, match="division by zero"), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX CONCURRENTLY {COLUMN_INDEX} ON post ((1 / (post_no - %s)))", [first]
        )
    assert _index_is_valid(COLUMN_INDEX) is False
    _migrate(COLUMN)
    assert _index_is_valid(COLUMN_INDEX) is True
    definition = _one("SELECT pg_get_indexdef(to_regclass(%s))", [COLUMN_INDEX])
    assert "search_document" in definition, definition
