"""The migration safety gate: squawk on the PostgreSQL SQL of each of the project's migrations.

A migration runs while the previous release still serves (expand/contract, README). One that
rewrites a table, builds an index without CONCURRENTLY, adds NOT NULL without a database
default, or renames or drops what that release reads either locks production or breaks it.
squawk (squawk-cli, a PostgreSQL parser with the lock each statement takes) reads the SQL that
Django generates for each migration; each finding is printed with how to do it in two steps.

The SQL comes from Django's PostgreSQL backend against a real server: some operations read the
catalog while generating it (constraint names, AddConstraintNotValid), so each migration's SQL is
collected from a scratch database migrated exactly up to it. Only that scratch database is
written to; it is dropped at the end.

SQL a RunPython operation executes is invisible here (Django cannot print it): write schema
changes as operations or RunSQL, and RunPython for data only.

Why squawk rather than django-migration-linter: that one matches the SQL with regular
expressions, only warns about a non-concurrent CREATE INDEX, and has no rule for unvalidated
constraints, foreign keys' locks, volatile defaults or Django's DROP DEFAULT after adding a NOT
NULL column; squawk parses PostgreSQL and has rules for each. What the other did besides
(sqlmigrate per migration, skipping shipped ones, an escape hatch) is this module.

Escape hatch, in the migration's file, naming the rules and saying why (at least a few words):
    # migration-lint: allow ban-drop-column -- release 41 stopped reading post.summary
"""

import json
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import load_backend

SQUAWK_CONFIG = settings.BASE_DIR.parent / ".squawk.toml"
HATCH = re.compile(
    r"#\s*migration-lint:\s*allow\s+(?P<rules>[a-z-]+(?:\s*,\s*[a-z-]+)*)(?P<why>.*)"
)
REASON_MIN_WORDS = 3

# Migrations that shipped before this gate and break a rule: production has run them, so editing
# them would change nothing. Their other rules are still checked.
BASELINE = {
    # CHECK constraints added with a scan under ACCESS EXCLUSIVE (AddConstraintNotValid, which
    # 0005 uses, came later). Every deployed database has run it; on a new one the tables are
    # empty when it runs, so the scan is instant.
    ("board", "0002_tag_lowercase_and_deleted_at_checks"): {"constraint-missing-not-valid"},
}

EXPAND_CONTRACT = "README: 'Migrations must be backward compatible'."
NOT_NULL = (
    "The release still serving does not write this column, so its INSERTs fail, and Django drops "
    "the default it adds with the column. Either give the field db_default= (a default kept by "
    "the database; PostgreSQL adds a constant one without a rewrite), or two steps: (1) add it "
    "with null=True and backfill in batches; (2) in a later release, add CHECK (col IS NOT NULL) "
    "with board.postgresql_migrations.AddConstraintNotValid, then make it NOT NULL."
)
RENAME = (
    "The release still serving reads the old name. To rename in Django only, set "
    "db_column='<old name>' (no SQL). Otherwise two steps: (1) add the new one (nullable), write "
    "both, backfill, read the new one; (2) in a later release, once no serving release reads "
    "the old one, drop it."
)
DROP = (
    "The release still serving reads it. Two steps: (1) stop using it (make a column nullable "
    "or give it a db_default, so inserts that omit it work); (2) in a later release, drop it in "
    "a migration that says which release stopped using it (# migration-lint: allow <rule> -- "
    "why)."
)
ADVICE = {
    "adding-required-field": NOT_NULL,
    "ban-drop-default": NOT_NULL,
    "adding-not-nullable-field": (
        "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE. Two steps: (1) add CHECK "
        "(col IS NOT NULL) with board.postgresql_migrations.AddConstraintNotValid (validated "
        "without blocking writes); (2) then SET NOT NULL, which PostgreSQL 12+ proves from that "
        "constraint without a scan (allow the rule, naming the constraint)."
    ),
    "renaming-column": RENAME,
    "renaming-table": RENAME,
    "ban-drop-column": DROP,
    "ban-drop-table": DROP,
    "require-concurrent-index-creation": (
        "CREATE INDEX blocks writes to the table while it builds. Build it with "
        "django.contrib.postgres.operations.AddIndexConcurrently in a migration with "
        "atomic = False (a new table's indexes need nothing: they are created with it)."
    ),
    "require-concurrent-index-deletion": (
        "DROP INDEX takes an ACCESS EXCLUSIVE lock. Use "
        "django.contrib.postgres.operations.RemoveIndexConcurrently in a migration with "
        "atomic = False."
    ),
    "ban-concurrent-index-creation-in-transaction": (
        "CREATE INDEX CONCURRENTLY fails inside a transaction: set atomic = False on the "
        "migration (and keep it to the index)."
    ),
    "changing-column-type": (
        "Changing a column's type rewrites the table under ACCESS EXCLUSIVE (no reads, no "
        "writes) and the serving release may not read the new type. Two steps: (1) add a column "
        "of the new type, write both, backfill in batches, read the new one; (2) in a later "
        "release, drop the old one."
    ),
    "adding-field-with-default": (
        "A volatile default rewrites the whole table under ACCESS EXCLUSIVE. Two steps: (1) add "
        "the column nullable with no default, backfill in batches; (2) then set the default."
    ),
    "constraint-missing-not-valid": (
        "Adding a constraint scans the table while writes wait. Use "
        "board.postgresql_migrations.AddConstraintNotValid (atomic = False): NOT VALID first, "
        "then VALIDATE CONSTRAINT, which lets reads and writes go on."
    ),
    "adding-foreign-key-constraint": (
        "A foreign key scans the table and blocks writes to both tables. Two steps: (1) add the "
        "field with db_constraint=False; (2) add the constraint NOT VALID, then VALIDATE it in "
        "its own transaction (RunSQL in a migration with atomic = False)."
    ),
    "disallowed-unique-constraint": (
        "A UNIQUE constraint builds its index under ACCESS EXCLUSIVE. Two steps: (1) CREATE "
        "UNIQUE INDEX CONCURRENTLY (atomic = False); (2) ALTER TABLE ... ADD CONSTRAINT ... "
        "UNIQUE USING INDEX."
    ),
}


@dataclass(frozen=True)
class Finding:
    migration: str  # app_label.name
    operation: str  # Django's description of the operation, e.g. "Add field score to post"
    rule: str
    message: str
    advice: str

    def __str__(self):
        where = f"{self.migration} ({self.operation})" if self.operation else self.migration
        return f"{where}: {self.rule}: {self.message}\n    How: {self.advice}"


def project_app_labels() -> set[str]:
    """The apps whose code is in this repository (third-party migrations cannot be changed)."""
    base = settings.BASE_DIR.resolve()
    return {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(base)
    }


def squawk_binary() -> str:
    """squawk-cli's binary, next to this interpreter in the virtualenv, else on PATH."""
    beside = Path(sys.executable).with_name("squawk")
    found = str(beside) if beside.exists() else shutil.which("squawk")
    if not found:
        raise RuntimeError("squawk not found: install requirements/dev.lock (make lint does)")
    return found


def run_squawk(sql: str, label: str) -> list[dict]:
    result = subprocess.run(  # noqa: S603
        [squawk_binary(), "--config", str(SQUAWK_CONFIG), "--reporter", "json",
         "--stdin-filepath", f"{label}.sql"],
        input=sql, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode not in (0, 1):
        raise RuntimeError(f"squawk failed on {label}: {result.stderr.strip()}")
    return json.loads(result.stdout or "[]")


def operation_at(sql: str, line: int) -> str:
    """Django heads each operation's SQL with `--\\n-- <description>\\n--`."""
    lines = sql.splitlines()[: line + 1]
    for index in range(len(lines) - 1, 0, -1):
        if lines[index] == "--" and lines[index - 1].startswith("-- "):
            return lines[index - 1][3:]
    return ""


def escape_hatches(source: str, label: str) -> tuple[set[str], list[Finding]]:
    """The rules a migration's comments allow, and a finding for each allowance without a reason."""
    allowed, findings = set(), []
    for match in HATCH.finditer(source):
        rules = {rule.strip() for rule in match["rules"].split(",")}
        why = match["why"].strip().removeprefix("--").strip()
        if len(why.split()) < REASON_MIN_WORDS:
            findings.append(Finding(
                label, "", "escape-hatch-without-reason",
                f"'{match[0].strip()}' does not say why",
                f"Write: # migration-lint: allow {', '.join(sorted(rules))} -- <why this is "
                f"safe, at least {REASON_MIN_WORDS} words>.",
            ))  # fmt: skip
        else:
            allowed |= rules
    return allowed, findings


def lint_sql(migration, sql: str) -> list[Finding]:
    label = f"{migration.app_label}.{migration.name}"
    source = Path(sys.modules[migration.__module__].__file__).read_text()
    allowed, findings = escape_hatches(source, label)
    allowed |= BASELINE.get((migration.app_label, migration.name), set())
    for issue in run_squawk(sql, label):
        rule = issue["rule_name"]
        if rule in allowed:
            continue
        advice = ADVICE.get(rule, f"{issue.get('help') or 'see the rule'}. {EXPAND_CONTRACT}")
        findings.append(
            Finding(label, operation_at(sql, issue["line"]), rule, issue["message"], advice)
        )
    return findings


def migration_sql(executor: MigrationExecutor, migration) -> str:
    """What `manage.py sqlmigrate` prints: the statements, in a transaction if it is atomic."""
    statements = executor.loader.collect_sql([(migration, False)])
    if migration.atomic:
        statements = ["BEGIN;", *statements, "COMMIT;"]
    return "\n".join(statements) + "\n"


def lint_migrations(connection) -> tuple[int, list[Finding]]:
    """Lint every migration of the project's apps, each as generated against a scratch database
    (on `connection`'s server) migrated up to it. Returns (migrations linted, findings)."""
    labels = project_app_labels()
    linted, findings = [], []
    with ScratchDatabase(connection) as scratch:

        def before_each(action, migration=None, fake=False):
            if action == "apply_start" and migration.app_label in labels:
                linted.append(migration)
                findings.extend(lint_sql(migration, migration_sql(executor, migration)))

        executor = MigrationExecutor(scratch, before_each)
        executor.migrate(executor.loader.graph.leaf_nodes())
    return len(linted), findings


class ScratchDatabase:
    """An empty database on `connection`'s server for the time of the block (needs CREATEDB).

    Its connection is the default alias meanwhile (the configured one is set aside): RunPython
    code queries through the default alias unless it names schema_editor.connection.alias."""

    def __init__(self, connection):
        self.connection = connection
        self.name = f"board_migration_lint_{secrets.token_hex(6)}"

    def __enter__(self):
        if self.connection.vendor != "postgresql":
            raise RuntimeError("lint_migrations needs PostgreSQL (DATABASE_URL=postgres://...)")
        with self.connection._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.name}" TEMPLATE template0')
        settings_dict = {**self.connection.settings_dict, "NAME": self.name}
        backend = load_backend(settings_dict["ENGINE"])
        self.scratch = backend.DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)
        self.default = connections[DEFAULT_DB_ALIAS]
        connections[DEFAULT_DB_ALIAS] = self.scratch
        return self.scratch

    def __exit__(self, *exc):
        connections[DEFAULT_DB_ALIAS] = self.default
        self.scratch.close()
        with self.connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
