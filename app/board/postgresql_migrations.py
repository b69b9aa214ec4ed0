"""What the board's PostgreSQL-only migrations share (0003 and 0004: the search index and column).

Migrations import it, so it must keep these names and their behaviour for as long as they do.
"""

from django.db import migrations


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases (SQLite, the embedded default)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_index_concurrently(index: str, definition: str) -> list:
    """The operations that build `index` (`CREATE INDEX CONCURRENTLY index <definition>`) in a
    migration with atomic = False: an INVALID leftover dropped first, then the index built if it
    is missing; reversed, it is dropped concurrently."""

    def drop_invalid(apps, schema_editor):
        drop_invalid_index(schema_editor, index)

    return [
        migrations.RunPython(drop_invalid, migrations.RunPython.noop, atomic=False, elidable=False),
        RunSQLOnPostgreSQL(
            sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} {definition}",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {index}",
        ),
    ]


def drop_invalid_index(schema_editor, index: str):
    """A CREATE INDEX CONCURRENTLY that failed (lock_timeout while it waits for older
    transactions, a cancelled deploy) leaves an INVALID index of that name: never used by the
    planner, yet still maintained on every write, and IF NOT EXISTS would keep it. Drop it
    (concurrently too: a plain DROP INDEX takes an ACCESS EXCLUSIVE lock) so a rerun builds it."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [index]
        )
        row = cursor.fetchone()
    if row is not None and row[0]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")


class AddConstraintNotValid(migrations.AddConstraint):
    """AddConstraint for a CHECK constraint on a big table, without blocking it on PostgreSQL.

    A plain ADD CONSTRAINT ... CHECK holds an ACCESS EXCLUSIVE lock (no reads, no writes) while
    it scans every row. Here it is added NOT VALID (the same lock for a catalog change only: new
    and updated rows are checked from then on), then VALIDATE CONSTRAINT scans the existing rows
    under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on. The two must commit
    separately (the migration has atomic = False), or the first lock would last the scan.
    VALIDATE fails, naming the constraint, when an existing row breaks it: fix those rows, then
    migrate again (the constraint is already there, NOT VALID; a rerun only validates it).
    On other databases this is AddConstraint.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        name = schema_editor.quote_name(self.constraint.name)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
                [self.constraint.name, model._meta.db_table],
            )
            exists = cursor.fetchone() is not None
        if not exists:
            schema_editor.execute(f"{self.constraint.create_sql(model, schema_editor)} NOT VALID")
        schema_editor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
