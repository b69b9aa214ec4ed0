"""Full-text search of posts, part 2: the document as a column, kept by a trigger, GIN-indexed.

Why a column after 0003's expression index: a search such as "bench post 777" names words that
are in most posts ("bench", "post") next to a rare one ("777"). Reading the index for the common
words decodes their whole posting lists (at 1M posts, 15 of the query's 20 ms). board.search
reads the index for the rare words only and checks the full query on each candidate row; with
the document stored, that check is a look at the row (about 1 us), where recomputing
to_tsvector() costs about 15 us a row, as much as the index read it saves.

No table rewrite, no long lock (0003 explains why a STORED generated column is not an option):
- ADD COLUMN without a default changes the catalog only; the trigger, created in the same
  transaction, fills the column on every INSERT and on UPDATEs of title or content, whoever
  writes (the ORM, a bulk update, psql). tsvector_update_trigger() is built in: no extension, no
  function of ours, nothing for the runtime role to be granted.
- Existing rows are filled in batches of BATCH posts, one transaction each, so a batch holds its
  rows' locks for a fraction of a second. `SET title = title` fires the trigger: the rows get
  the document exactly as new rows do.
- The GIN index is built CONCURRENTLY afterwards (no write lock), as in 0003.

0003's index stays until a later release drops it: the release running while this one migrates
still searches with it. The column and index are not in the model state, for 0003's reasons
(SQLite has no tsvector; Django would select the column in every query).
"""

from django.db import migrations

from board.postgresql_migrations import RunSQLOnPostgreSQL, create_index_concurrently

CONFIG = "pg_catalog.english"  # board.search.SEARCH_CONFIG, schema-qualified as the trigger needs
COLUMN = "search_document"
TRIGGER = "post_search_document"
INDEX = "post_live_document_idx"
BATCH = 5000


def fill_existing_posts(apps, schema_editor):
    """Give the posts written before the trigger their document, BATCH rows a transaction (the
    migration is not atomic, so each statement commits on its own)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # S608: COLUMN is this module's constant, not input.
        cursor.execute(f"SELECT max(post_no) FROM post WHERE {COLUMN} IS NULL")  # noqa: S608
        (last,) = cursor.fetchone()
        first = 0
        while last is not None and first < last:
            cursor.execute(
                f"UPDATE post SET title = title WHERE post_no > %s AND post_no <= %s "  # noqa: S608
                f"AND {COLUMN} IS NULL",
                [first, first + BATCH],
            )
            first += BATCH


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY and the batches' own transactions need autocommit.
    atomic = False

    dependencies = [
        ("board", "0003_post_search_document"),
    ]

    operations = [
        RunSQLOnPostgreSQL(
            # One transaction: no row can be written between the column and its trigger.
            sql=(
                "BEGIN;"
                f"ALTER TABLE post ADD COLUMN IF NOT EXISTS {COLUMN} tsvector;"
                f"DROP TRIGGER IF EXISTS {TRIGGER} ON post;"
                f"CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE OF title, content ON post "
                f"FOR EACH ROW EXECUTE FUNCTION "
                f"tsvector_update_trigger({COLUMN}, '{CONFIG}', title, content);"
                "COMMIT;"
            ),
            reverse_sql=(
                "BEGIN;"
                f"DROP TRIGGER IF EXISTS {TRIGGER} ON post;"
                f"ALTER TABLE post DROP COLUMN IF EXISTS {COLUMN};"
                "COMMIT;"
            ),
        ),
        migrations.RunPython(
            fill_existing_posts, migrations.RunPython.noop, atomic=False, elidable=False
        ),
        *create_index_concurrently(INDEX, f"ON post USING gin ({COLUMN}) WHERE NOT is_deleted"),
    ]
