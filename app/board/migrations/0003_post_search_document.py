"""Full-text search of posts (board/search.py): a GIN index over the posts' search document.

The document, to_tsvector('english'::regconfig, title || ' ' || content), is an expression of
the index, not a column: a STORED generated column rewrote the whole table under an ACCESS
EXCLUSIVE lock (95 s at 200k posts), and every request waiting on it failed at the runtime
role's lock_timeout. CREATE INDEX CONCURRENTLY rewrites nothing and takes a SHARE UPDATE
EXCLUSIVE lock: reads and writes go on while it builds. It cannot run in a transaction, so this
migration is not atomic. The owner role owns the table, which is all CREATE INDEX CONCURRENTLY
needs (no extension, no superuser).

board.search.SearchDocument emits the same expression text: the planner uses an expression
index only for a query expression equal to it. Changing the expression (or the configuration)
needs a new migration and the same change there.

The index is not in the model state (no Meta.indexes entry, no SeparateDatabaseAndState):
Django would then create it on SQLite too (which has no GIN), write its own expression
(SearchVector adds COALESCE, so the planner would not match this one), and generate
non-concurrent DROP/CREATE INDEX for any later change. makemigrations has nothing to see.
SQLite (the embedded default) searches with icontains: nothing to do there.
"""

from django.db import migrations

from board.postgresql_migrations import RunSQLOnPostgreSQL, drop_invalid_index

CONFIG = "english"  # board.search.SEARCH_CONFIG when this migration was written
INDEX = "post_live_search_idx"
# The same text as board.search.SearchDocument (columns unqualified here).
DOCUMENT = f"to_tsvector('{CONFIG}'::regconfig, title || ' ' || content)"


def drop_invalid_search_index(apps, schema_editor):
    """An INVALID index left by a failed concurrent build is dropped, so a rerun builds it."""
    drop_invalid_index(schema_editor, INDEX)


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY refuse to run inside a transaction block.
    atomic = False

    dependencies = [
        ("board", "0002_tag_lowercase_and_deleted_at_checks"),
    ]

    operations = [
        migrations.RunPython(
            drop_invalid_search_index, migrations.RunPython.noop, atomic=False, elidable=False
        ),
        RunSQLOnPostgreSQL(
            # Partial like post_live_created_idx: the API searches live posts only.
            sql=(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON post "
                f"USING gin ({DOCUMENT}) WHERE NOT is_deleted"
            ),
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
        ),
    ]
