"""Refuse migrations that would lock production or break the release still serving (squawk).

`make lint` runs it against a throwaway PostgreSQL cluster (scripts/with-test-postgres.sh); it
works on a scratch database of its own on that server and exits non-zero on any finding, each
with how to do it in two steps. core/migration_lint.py has the rules and the escape hatch.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from core.migration_lint import lint_migrations


class Command(BaseCommand):
    help = "Lint the PostgreSQL SQL of this project's migrations with squawk."

    def add_arguments(self, parser):
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Its server hosts the scratch database."
        )

    def handle(self, *args, database, **options):
        try:
            count, findings = lint_migrations(connections[database])
        except RuntimeError as error:  # no PostgreSQL, no squawk
            raise CommandError(str(error)) from error
        for finding in findings:
            self.stderr.write(str(finding))
        if findings:
            raise CommandError(
                f"{len(findings)} finding(s) in {count} migrations: each would lock a table or "
                "break the release that serves while it runs (expand/contract)."
            )
        self.stdout.write(f"lint_migrations: {count} migrations, no finding")
