"""Full-text search of posts (board/search.py): a GIN index over the posts' search document.

The document, to_tsvector('english'::regconfig, title || ' ' || content), is an expression of
the index, not a column: a STORED generated column rewrote the whole table under an ACCESS
EXCLUSIVE lock (95 s at 200k posts), and every request waiting on it failed at the runtime
role's lock_timeout. CREATE INDEX CONCURRENTLY rewrites nothing and takes a SHARE UPDATE
EXCLUSIVE lock: reads and writes go on while it builds. It cannot run in a transaction, so this
migration is not atomic. The owner role owns the table, which is all CREATE INDEX CONCURRENTLY
needs (no extension, no superuser).

Until migration 0004, board.search wrote the same expression text in its queries: the planner
uses an expression index only for a query expression equal to it. Since 0004 search reads a
stored column; this index serves a release older than 0004 until a later migration drops it.

The index is not in the model state (no Meta.indexes entry, no SeparateDatabaseAndState):
Django would then create it on SQLite too (which has no GIN), write its own expression
(SearchVector adds COALESCE, so the planner would not match this one), and generate
non-concurrent DROP/CREATE INDEX for any later change. makemigrations has nothing to see.
SQLite (the embedded default) searches with icontains: nothing to do there.
"""

from django.db import migrations

from board.postgresql_migrations import create_index_concurrently

CONFIG = "english"  # board.search.SEARCH_CONFIG when this migration was written
INDEX = "post_live_search_idx"
# The text board.search queried before 0004 (columns unqualified here).
DOCUMENT = f"to_tsvector('{CONFIG}'::regconfig, title || ' ' || content)"


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY refuse to run inside a transaction block.
    atomic = False

    dependencies = [
        ("board", "0002_tag_lowercase_and_deleted_at_checks"),
    ]

    # Partial like post_live_created_idx: the API searches live posts only.
    operations = create_index_concurrently(INDEX, f"ON post USING gin ({DOCUMENT}) WHERE NOT is_deleted")
