"""Full-text search of posts (board/search.py): a generated tsvector column and its GIN index.

The column is invisible to the ORM (no model field), so queries never select it; PostgreSQL
fills it on every insert and update. Adding a STORED column rewrites the table once under an
ACCESS EXCLUSIVE lock (about a minute per million posts on two cores); the owner role runs it
and needs no extension. SQLite (the embedded default) searches with icontains: nothing to do.
"""

from django.db import migrations

CONFIG = "english"  # board.search.SEARCH_CONFIG when this migration was written


class RunSQLOnPostgreSQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ("board", "0002_tag_lowercase_and_deleted_at_checks"),
    ]

    operations = [
        RunSQLOnPostgreSQL(
            sql=(
                "ALTER TABLE post ADD COLUMN search_document tsvector GENERATED ALWAYS AS "
                f"(to_tsvector('{CONFIG}'::regconfig, title || ' ' || content)) STORED"
            ),
            reverse_sql="ALTER TABLE post DROP COLUMN search_document",
        ),
        RunSQLOnPostgreSQL(
            # Partial like post_live_created_idx: the API searches live posts only.
            sql=(
                "CREATE INDEX post_live_search_idx ON post USING gin (search_document) "
                "WHERE NOT is_deleted"
            ),
            reverse_sql="DROP INDEX post_live_search_idx",
        ),
    ]
