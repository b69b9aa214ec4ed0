"""Usernames are unique case-insensitively: a unique index on lower(username) of auth_user.

The database enforces it, so two racing registrations of `Alice` and `alice` cannot both pass.
On PostgreSQL the index is built CONCURRENTLY (no write lock on auth_user while the release
that still serves traffic keeps running; expand/contract). It fails if such duplicates already
exist: rename one of each pair first.
"""

from django.db import migrations

INDEX = "auth_user_username_lower_uniq"


def create_index(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE UNIQUE INDEX {concurrently}{INDEX} ON auth_user (lower(username))"
    )


def drop_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX {INDEX}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_index, drop_index)]
