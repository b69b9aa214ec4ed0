"""List the applied migrations that this code base does not ship.

rollback.yml runs it from the release it is about to switch back to: a non-empty answer means
the schema moved on after that release (expand/contract migrations keep the old code working;
otherwise the operator restores the dump taken before them). One `app.name` per line.
"""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader


class Command(BaseCommand):
    help = "Print the applied migrations this code does not know, one app.name per line."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database, **options):
        loader = MigrationLoader(connections[database], ignore_no_migrations=True)
        unknown = set(loader.applied_migrations) - set(loader.disk_migrations)
        for app_label, name in sorted(unknown):
            self.stdout.write(f"{app_label}.{name}")
