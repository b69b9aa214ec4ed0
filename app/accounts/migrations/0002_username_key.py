"""accounts_username_key: each user's name folded for comparison (NFKC case folding), unique.

A new table, so nothing existing is locked; the backfill reads auth_user once and inserts one
row per user in one transaction. It fails when two existing names fold to the same key
("Émile" and "émile", possible before this migration on SQLite): rename one of each pair first.
"""

import unicodedata

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def username_key(username):
    # accounts.services.username_key, frozen here as of this migration.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def backfill(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    UsernameKey = apps.get_model("accounts", "UsernameKey")
    users = User.objects.values_list("pk", "username").iterator(chunk_size=2000)
    batch = []
    for pk, username in users:
        batch.append(UsernameKey(user_id=pk, key=username_key(username)))
        if len(batch) == 2000:
            UsernameKey.objects.bulk_create(batch)
            batch = []
    UsernameKey.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_username_lower_unique"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UsernameKey",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("key", models.CharField(max_length=600, unique=True)),
            ],
            options={"db_table": "accounts_username_key"},
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
