"""The least-privilege checks of the board's database, shared by every deployment's tests.

The provisioned server (tests/e2e/test_postgresql_hardening.py) and the compose stack
(tests/containers/test_compose_stack.py) apply the same privilege model
(deploy/roles/postgresql/files/privileges.sql); these checks assert it, whatever the transport:
a deployment's test hands in a `Database` that runs SQL as the superuser, the owner role and
the runtime role.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml

from .paths import DEPLOY

WIRING = yaml.safe_load((DEPLOY / "group_vars/all/main.yml").read_text())
DEFAULTS = yaml.safe_load((DEPLOY / "roles/postgresql/defaults/main.yml").read_text())

DB = WIRING["postgresql_database"]
OWNER = WIRING["postgresql_owner_role"]
RUNTIME = WIRING["postgresql_runtime_role"]
MIGRATION_HISTORY = "django_migrations"
TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]

# Statements the runtime role must not run, and the error PostgreSQL gives ({t}: a table).
FORBIDDEN_SCHEMA_CHANGES = [
    ("CREATE TABLE e2e_forbidden (id int)", "permission denied for schema public"),
    ("CREATE TEMP TABLE e2e_forbidden (id int)", "permission denied to create temporary"),
    ("CREATE SCHEMA e2e_forbidden", "permission denied for database"),
    ("DROP TABLE {t}", "must be owner of table"),
    ("TRUNCATE {t}", "permission denied for table"),
    ("ALTER TABLE {t} ADD COLUMN x int", "must be owner of table"),
    ("CREATE INDEX ON {t} (v)", "must be owner of table"),
]


def ok(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 0, f"rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout.strip()


@dataclass
class Database:
    """How a test reaches the database: each callable runs one SQL string with psql -XAtq."""

    superuser: Callable[[str], subprocess.CompletedProcess]
    owner: Callable[[str], subprocess.CompletedProcess]
    runtime: Callable[[str], subprocess.CompletedProcess]

    def su(self, sql: str) -> str:
        return ok(self.superuser(sql))


@contextlib.contextmanager
def probe_table(db: Database) -> Iterator[str]:
    """A table created by the owner role, as a migration would; dropped afterwards."""
    name = f"e2e_probe_{uuid.uuid4().hex[:8]}"
    ok(
        db.owner(
            f"CREATE TABLE {name} (id serial PRIMARY KEY, v text); "
            f"INSERT INTO {name} (v) VALUES ('seed')"
        )
    )
    try:
        yield name
    finally:
        ok(db.owner(f"DROP TABLE IF EXISTS {name}"))


def _to_ms(value: str) -> int:
    units = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000}
    for unit in sorted(units, key=len, reverse=True):
        if value.endswith(unit):
            return int(value[: -len(unit)]) * units[unit]
    return int(value)


def role_attrs(db: Database, role: str) -> dict:
    out = db.su(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
        "rolcanlogin, rolconnlimit, array_to_string(rolconfig, ';') "
        f"FROM pg_roles WHERE rolname = '{role}'"
    )
    assert out, f"role {role} does not exist"
    cols = out.split("|")
    keys = ["super", "createdb", "createrole", "replication", "bypassrls", "login"]
    attrs = {k: cols[i] == "t" for i, k in enumerate(keys)}
    attrs["connlimit"] = int(cols[6])
    attrs["config"] = dict(kv.split("=", 1) for kv in cols[7].split(";") if kv)
    return attrs


def _session_settings_ms(run: Callable[[str], subprocess.CompletedProcess], names) -> str:
    return ok(
        run(
            "SELECT string_agg(setting, ',' ORDER BY name) FROM pg_settings "
            f"WHERE name IN ({', '.join(repr(n) for n in names)})"
        )
    )


# --- roles -------------------------------------------------------------------------


def check_runtime_role_has_no_special_attributes(db: Database) -> None:
    attrs = role_attrs(db, RUNTIME)
    assert attrs["login"]
    for flag in ("super", "createdb", "createrole", "replication", "bypassrls"):
        assert not attrs[flag], f"{RUNTIME} has {flag}"


def check_runtime_role_connection_limit_and_timeouts(db: Database, conn_limit: int) -> None:
    """conn_limit: what the deployment sizes it to (servers derive it from Gunicorn's size)."""
    attrs = role_attrs(db, RUNTIME)
    assert attrs["connlimit"] == conn_limit
    names = ["statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout"]
    assert attrs["config"] == {n: DEFAULTS[f"postgresql_runtime_{n}"] for n in names}
    # and they are in effect in the application's sessions (pg_settings shows milliseconds)
    expected = ",".join(str(_to_ms(DEFAULTS[f"postgresql_runtime_{n}"])) for n in sorted(names))
    assert _session_settings_ms(db.runtime, names) == expected


def check_owner_role_attributes_and_lock_timeout(db: Database) -> None:
    attrs = role_attrs(db, OWNER)
    assert attrs["login"]
    for flag in ("super", "createdb", "createrole", "replication", "bypassrls"):
        assert not attrs[flag], f"{OWNER} has {flag}"
    assert attrs["connlimit"] == DEFAULTS["postgresql_owner_conn_limit"]
    # Migrations give up on a lock instead of queueing (and blocking the app behind them).
    lock_timeout = DEFAULTS["postgresql_owner_lock_timeout"]
    assert attrs["config"] == {"lock_timeout": lock_timeout}
    assert _session_settings_ms(db.owner, ["lock_timeout"]) == str(_to_ms(lock_timeout))


def check_roles_use_scram_password_hashes(db: Database) -> None:
    out = db.su(
        f"SELECT rolname, left(rolpassword, 14) FROM pg_authid "
        f"WHERE rolname IN ('{OWNER}', '{RUNTIME}') ORDER BY rolname"
    )
    rows = dict(line.split("|") for line in out.splitlines())
    assert rows == {OWNER: "SCRAM-SHA-256$", RUNTIME: "SCRAM-SHA-256$"}
    assert db.su("SHOW password_encryption") == "scram-sha-256"


# --- ownership and privileges ----------------------------------------------------------


def check_owner_role_owns_database_and_schema(db: Database) -> None:
    dba = db.su(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{DB}'")
    assert dba == OWNER
    schema_owner = db.su(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
    )
    assert schema_owner == OWNER


def check_runtime_role_owns_nothing(db: Database) -> None:
    assert db.su(f"SELECT count(*) FROM pg_class WHERE relowner = '{RUNTIME}'::regrole") == "0"
    for catalog, column in (("pg_namespace", "nspowner"), ("pg_database", "datdba")):
        count = db.su(f"SELECT count(*) FROM {catalog} WHERE {column} = '{RUNTIME}'::regrole")
        assert count == "0", catalog


def check_public_has_no_database_privileges_and_no_create_on_schema(db: Database) -> None:
    db_public = db.su(
        f"SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a "
        f"WHERE d.datname = '{DB}' AND a.grantee = 0"
    )
    assert db_public == "0", db.su(f"SELECT datacl FROM pg_database WHERE datname = '{DB}'")
    schema_create = db.su(
        "SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a "
        "WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'"
    )
    assert schema_create == "0"


def check_runtime_role_has_only_connect_and_usage(db: Database) -> None:
    out = db.su(
        f"SELECT has_database_privilege('{RUNTIME}', '{DB}', 'CONNECT'), "
        f"has_database_privilege('{RUNTIME}', '{DB}', 'CREATE'), "
        f"has_database_privilege('{RUNTIME}', '{DB}', 'TEMPORARY'), "
        f"has_schema_privilege('{RUNTIME}', 'public', 'USAGE'), "
        f"has_schema_privilege('{RUNTIME}', 'public', 'CREATE')"
    )
    assert out == "t|f|f|t|f"


def check_default_privileges_give_runtime_dml(db: Database, table: str) -> None:
    """A table the owner creates later (a migration) is readable and writable at once."""
    out = ok(
        db.runtime(
            f"INSERT INTO {table} (v) VALUES ('a'); UPDATE {table} SET v = 'b' WHERE v = 'a'; "
            f"DELETE FROM {table} WHERE v = 'seed'; SELECT v FROM {table}"
        )
    )
    assert out == "b"


def check_existing_tables_grant_exactly_dml_to_runtime(db: Database, table: str) -> None:
    """Every table in public gives the runtime role DML, nothing more (the history: read only)."""
    rows = db.su(
        "SELECT c.relname, "
        + ", ".join(f"has_table_privilege('{RUNTIME}', c.oid, '{p}')" for p in TABLE_PRIVILEGES)
        + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
    ).splitlines()
    privs = dict(r.split("|", 1) for r in rows)
    assert table in privs, rows
    read_only, dml = "t|f|f|f|f|f|f", "t|t|t|t|f|f|f"
    expected = {name: read_only if name == MIGRATION_HISTORY else dml for name in privs}
    assert privs == expected


def check_migration_history_is_read_only_for_runtime(db: Database) -> None:
    """The readiness probe reads django_migrations; only migrations (the owner) write it."""
    count = db.su(f"SELECT count(*) FROM {MIGRATION_HISTORY}")
    assert int(count) > 0, "no migration applied yet"
    assert ok(db.runtime(f"SELECT count(*) FROM {MIGRATION_HISTORY}")) == count
    for sql in (
        f"INSERT INTO {MIGRATION_HISTORY} (app, name, applied) VALUES ('e2e', 'forged', now())",
        f"UPDATE {MIGRATION_HISTORY} SET name = 'forged'",
        f"DELETE FROM {MIGRATION_HISTORY}",
    ):
        r = db.runtime(sql)
        assert r.returncode != 0, f"{sql!r} succeeded as {RUNTIME}"
        assert f"permission denied for table {MIGRATION_HISTORY}" in r.stderr, r.stderr
    assert db.su(f"SELECT count(*) FROM {MIGRATION_HISTORY}") == count


def check_runtime_role_cannot_change_the_schema(
    db: Database, table: str, sql: str, error: str
) -> None:
    r = db.runtime(sql.format(t=table))
    assert r.returncode != 0, f"{sql!r} succeeded as {RUNTIME}"
    assert error in r.stderr, r.stderr
    # the table is still there
    assert db.su(f"SELECT count(*) FROM {table}") == "1"


def check_runtime_role_cannot_grant_privileges(db: Database, table: str) -> None:
    r = db.runtime(f"GRANT SELECT ON {table} TO PUBLIC")
    assert "no privileges were granted" in r.stderr, r.stderr
    assert db.su(f"SELECT has_table_privilege('public', '{table}', 'SELECT')") == "f"
