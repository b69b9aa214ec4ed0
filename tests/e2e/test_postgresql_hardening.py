"""PostgreSQL on the provisioned test server is locked down as the postgresql role promises.

Checks run over ssh: as the postgres superuser through peer authentication, and as the
owner/runtime roles with their (generated, vaulted) passwords over 127.0.0.1.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
WIRING = yaml.safe_load((DEPLOY / "group_vars/all/main.yml").read_text())
DEFAULTS = yaml.safe_load((DEPLOY / "roles/postgresql/defaults/main.yml").read_text())

DB = WIRING["postgresql_database"]
OWNER = WIRING["postgresql_owner_role"]
RUNTIME = WIRING["postgresql_runtime_role"]


def _ok(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 0, f"rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout.strip()


def su_psql(tb, sql: str, db: str = DB, check: bool = True):
    """psql as the postgres superuser (peer authentication over the unix socket)."""
    r = tb.ssh(
        f"cd / && sudo -u postgres psql -XAtq -v ON_ERROR_STOP=1 -d {shlex.quote(db)} "
        f"-c {shlex.quote(sql)}"
    )
    return _ok(r) if check else r


def role_psql(tb, user: str, password: str, sql: str, conninfo: str = "host=127.0.0.1"):
    """psql as an application role with its password; the password travels on stdin."""
    script = (
        f"export PGPASSWORD={shlex.quote(password)}\n"
        f"exec psql -XAtq -v ON_ERROR_STOP=1 "
        f"{shlex.quote(f'{conninfo} dbname={DB} user={user}')} -c {shlex.quote(sql)}\n"
    )
    return tb.ssh("bash -s", input=script)


@pytest.fixture(scope="module")
def pg(provisioned):
    return provisioned


@pytest.fixture(scope="module")
def runtime(pg):
    password = pg.secrets["vault_postgresql_runtime_password"]
    return lambda sql, **kw: role_psql(pg.testbed, RUNTIME, password, sql, **kw)


@pytest.fixture(scope="module")
def owner(pg):
    password = pg.secrets["vault_postgresql_owner_password"]
    return lambda sql, **kw: role_psql(pg.testbed, OWNER, password, sql, **kw)


@pytest.fixture
def probe_table(pg, owner):
    """A table created by the owner role, as a migration would; dropped afterwards."""
    name = f"e2e_probe_{uuid.uuid4().hex[:8]}"
    _ok(
        owner(
            f"CREATE TABLE {name} (id serial PRIMARY KEY, v text); "
            f"INSERT INTO {name} (v) VALUES ('seed')"
        )
    )
    yield name
    _ok(owner(f"DROP TABLE IF EXISTS {name}"))


def _to_ms(value: str) -> int:
    units = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000}
    for unit in sorted(units, key=len, reverse=True):
        if value.endswith(unit):
            return int(value[: -len(unit)]) * units[unit]
    return int(value)


def role_attrs(tb, role: str) -> dict:
    out = su_psql(
        tb,
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
        "rolcanlogin, rolconnlimit, array_to_string(rolconfig, ';') "
        f"FROM pg_roles WHERE rolname = '{role}'",
    )
    assert out, f"role {role} does not exist"
    cols = out.split("|")
    keys = ["super", "createdb", "createrole", "replication", "bypassrls", "login"]
    attrs = {k: cols[i] == "t" for i, k in enumerate(keys)}
    attrs["connlimit"] = int(cols[6])
    attrs["config"] = dict(kv.split("=", 1) for kv in cols[7].split(";") if kv)
    return attrs


# --- roles -------------------------------------------------------------------------


def test_runtime_role_has_no_special_attributes(pg):
    attrs = role_attrs(pg.testbed, RUNTIME)
    assert attrs["login"]
    for flag in ("super", "createdb", "createrole", "replication", "bypassrls"):
        assert not attrs[flag], f"{RUNTIME} has {flag}"


def test_runtime_role_connection_limit_and_timeouts(pg, runtime):
    attrs = role_attrs(pg.testbed, RUNTIME)
    assert attrs["connlimit"] == DEFAULTS["postgresql_runtime_conn_limit"]
    assert attrs["config"] == {
        "statement_timeout": DEFAULTS["postgresql_runtime_statement_timeout"],
        "idle_in_transaction_session_timeout": DEFAULTS[
            "postgresql_runtime_idle_in_transaction_session_timeout"
        ],
        "lock_timeout": DEFAULTS["postgresql_runtime_lock_timeout"],
    }
    # and they are in effect in the application's sessions (pg_settings shows milliseconds)
    names = ["statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout"]
    shown = _ok(
        runtime(
            "SELECT string_agg(setting, ',' ORDER BY name) FROM pg_settings "
            f"WHERE name IN ({', '.join(repr(n) for n in names)})"
        )
    )
    expected = ",".join(str(_to_ms(DEFAULTS[f"postgresql_runtime_{n}"])) for n in sorted(names))
    assert shown == expected


def test_owner_role_attributes(pg):
    attrs = role_attrs(pg.testbed, OWNER)
    assert attrs["login"]
    for flag in ("super", "createdb", "createrole", "replication", "bypassrls"):
        assert not attrs[flag], f"{OWNER} has {flag}"
    assert attrs["connlimit"] == DEFAULTS["postgresql_owner_conn_limit"]


def test_roles_use_scram_password_hashes(pg):
    out = su_psql(
        pg.testbed,
        f"SELECT rolname, left(rolpassword, 14) FROM pg_authid "
        f"WHERE rolname IN ('{OWNER}', '{RUNTIME}') ORDER BY rolname",
    )
    rows = dict(line.split("|") for line in out.splitlines())
    assert rows == {OWNER: "SCRAM-SHA-256$", RUNTIME: "SCRAM-SHA-256$"}
    assert su_psql(pg.testbed, "SHOW password_encryption") == "scram-sha-256"


# --- ownership and privileges ----------------------------------------------------------


def test_owner_role_owns_database_and_schema(pg):
    tb = pg.testbed
    dba = su_psql(tb, f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{DB}'")
    assert dba == OWNER
    assert (
        su_psql(tb, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'")
        == OWNER
    )


def test_runtime_role_owns_nothing(pg):
    tb = pg.testbed
    owned = su_psql(
        tb,
        f"SELECT count(*) FROM pg_class WHERE relowner = '{RUNTIME}'::regrole",
    )
    assert owned == "0"
    for catalog, column in (("pg_namespace", "nspowner"), ("pg_database", "datdba")):
        count = su_psql(tb, f"SELECT count(*) FROM {catalog} WHERE {column} = '{RUNTIME}'::regrole")
        assert count == "0", catalog


def test_public_has_no_database_privileges_and_no_create_on_schema(pg):
    tb = pg.testbed
    db_public = su_psql(
        tb,
        f"SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a "
        f"WHERE d.datname = '{DB}' AND a.grantee = 0",
    )
    assert db_public == "0", su_psql(tb, f"SELECT datacl FROM pg_database WHERE datname = '{DB}'")
    schema_create = su_psql(
        tb,
        "SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a "
        "WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'",
    )
    assert schema_create == "0"


def test_runtime_role_has_only_connect_and_usage(pg):
    tb = pg.testbed
    out = su_psql(
        tb,
        f"SELECT has_database_privilege('{RUNTIME}', '{DB}', 'CONNECT'), "
        f"has_database_privilege('{RUNTIME}', '{DB}', 'CREATE'), "
        f"has_database_privilege('{RUNTIME}', '{DB}', 'TEMPORARY'), "
        f"has_schema_privilege('{RUNTIME}', 'public', 'USAGE'), "
        f"has_schema_privilege('{RUNTIME}', 'public', 'CREATE')",
    )
    assert out == "t|f|f|t|f"


def test_runtime_role_can_read_and_write_owner_tables(pg, runtime, probe_table):
    t = probe_table
    out = _ok(
        runtime(
            f"INSERT INTO {t} (v) VALUES ('a'); UPDATE {t} SET v = 'b' WHERE v = 'a'; "
            f"DELETE FROM {t} WHERE v = 'seed'; SELECT v FROM {t}"
        )
    )
    assert out == "b"


def test_existing_tables_grant_exactly_dml_to_runtime(pg, probe_table):
    """Every table in public (e.g. migrated ones) gives the runtime role DML, nothing more."""
    rows = su_psql(
        pg.testbed,
        "SELECT c.relname, "
        f"has_table_privilege('{RUNTIME}', c.oid, 'SELECT,INSERT,UPDATE,DELETE'), "
        f"has_table_privilege('{RUNTIME}', c.oid, 'TRUNCATE'), "
        f"has_table_privilege('{RUNTIME}', c.oid, 'REFERENCES'), "
        f"has_table_privilege('{RUNTIME}', c.oid, 'TRIGGER') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')",
    ).splitlines()
    assert any(r.startswith(probe_table + "|") for r in rows)
    bad = [r for r in rows if r.split("|", 1)[1] != "t|f|f|f"]
    assert not bad, bad


@pytest.mark.parametrize(
    "sql, error",
    [
        ("CREATE TABLE e2e_forbidden (id int)", "permission denied for schema public"),
        ("CREATE TEMP TABLE e2e_forbidden (id int)", "permission denied to create temporary"),
        ("CREATE SCHEMA e2e_forbidden", "permission denied for database"),
        ("DROP TABLE {t}", "must be owner of table"),
        ("TRUNCATE {t}", "permission denied for table"),
        ("ALTER TABLE {t} ADD COLUMN x int", "must be owner of table"),
        ("CREATE INDEX ON {t} (v)", "must be owner of table"),
    ],
)
def test_runtime_role_cannot_change_the_schema(pg, runtime, probe_table, sql, error):
    r = runtime(sql.format(t=probe_table))
    assert r.returncode != 0, f"{sql!r} succeeded as {RUNTIME}"
    assert error in r.stderr, r.stderr
    # the table is still there
    assert su_psql(pg.testbed, f"SELECT count(*) FROM {probe_table}") == "1"


def test_runtime_role_cannot_grant_privileges(pg, runtime, probe_table):
    r = runtime(f"GRANT SELECT ON {probe_table} TO PUBLIC")
    assert "no privileges were granted" in r.stderr, r.stderr
    granted = su_psql(
        pg.testbed, f"SELECT has_table_privilege('public', '{probe_table}', 'SELECT')"
    )
    assert granted == "f"


# --- authentication ----------------------------------------------------------------


def test_pg_hba_allows_only_peer_for_postgres_and_scram_for_app_roles(pg):
    rows = su_psql(
        pg.testbed,
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), "
        "coalesce(address, ''), auth_method, coalesce(error, '') "
        "FROM pg_hba_file_rules ORDER BY line_number",
    ).splitlines()
    app_users = f"{OWNER},{RUNTIME}"
    assert rows == [
        "local|all|postgres||peer|",
        f"local|{DB}|{app_users}||scram-sha-256|",
        f"host|{DB}|{app_users}|127.0.0.1|scram-sha-256|",
        f"host|{DB}|{app_users}|::1|scram-sha-256|",
    ]
    # and the file itself has nothing else (comments aside)
    hba = su_psql(pg.testbed, "SHOW hba_file")
    text = _ok(pg.testbed.ssh(f"grep -Ev '^[[:space:]]*(#|$)' {shlex.quote(hba)}"))
    assert len(text.splitlines()) == 4
    for word in ("trust", "md5", "password", "ident"):
        assert word not in text.split(), text


def test_wrong_password_is_rejected(pg):
    r = role_psql(pg.testbed, RUNTIME, "not-the-password", "SELECT 1")
    assert r.returncode != 0
    assert "password authentication failed" in r.stderr


def test_postgres_superuser_cannot_log_in_over_tcp(pg):
    r = role_psql(pg.testbed, "postgres", "irrelevant", "SELECT 1")
    assert r.returncode != 0
    assert "no pg_hba.conf entry" in r.stderr, r.stderr


def test_app_roles_authenticate_over_unix_socket_and_ipv6(pg, runtime, owner):
    assert _ok(runtime("SELECT current_user", conninfo="host=/var/run/postgresql")) == RUNTIME
    assert _ok(runtime("SELECT current_user", conninfo="host=::1")) == RUNTIME
    assert _ok(owner("SELECT current_user")) == OWNER


# --- server settings ---------------------------------------------------------------


def test_postgres_listens_only_on_loopback(pg):
    out = _ok(pg.testbed.ssh("ss -ltnpH"))
    pg_lines = [line for line in out.splitlines() if '"postgres"' in line]
    assert pg_lines, out
    local_addrs = sorted(line.split()[3] for line in pg_lines)
    assert all(a.rsplit(":", 1)[0] in ("127.0.0.1", "[::1]") for a in local_addrs), local_addrs
    assert su_psql(pg.testbed, "SHOW listen_addresses") == "localhost"


def test_postgres_port_is_not_reachable_from_outside(pg):
    with pytest.raises(OSError):
        socket.create_connection((pg.testbed.ip, 5432), timeout=3).close()


def test_ssl_is_on_and_used(pg, runtime):
    assert su_psql(pg.testbed, "SHOW ssl") == "on"
    used = _ok(
        runtime(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            conninfo="host=127.0.0.1 sslmode=require",
        )
    )
    assert used == "t"


def test_connection_logging(pg):
    tb = pg.testbed
    assert su_psql(tb, "SHOW log_connections") == "on"
    assert su_psql(tb, "SHOW log_disconnections") == "on"
    prefix = su_psql(tb, "SHOW log_line_prefix")
    for esc in ("%u", "%d", "%h"):
        assert esc in prefix, prefix


def test_memory_settings_follow_the_host_ram(pg):
    tb = pg.testbed
    mem_mb = int(_ok(tb.ssh("awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo")))

    def mb(name):
        return int(su_psql(tb, f"SELECT pg_size_bytes(current_setting('{name}')) / 1048576"))

    assert mb("shared_buffers") == min(max(int(mem_mb * 0.25), 128), 8192)
    assert mb("effective_cache_size") == max(int(mem_mb * 0.75), 256)
    assert mb("maintenance_work_mem") == min(max(mem_mb // 16, 64), 1024)
    assert 4 <= mb("work_mem") <= 64


def test_config_files_are_private_to_postgres(pg):
    tb = pg.testbed
    conf_dir = str(Path(su_psql(tb, "SHOW config_file")).parent)
    data_dir = su_psql(tb, "SHOW data_directory")
    files = _ok(tb.ssh(f"find {conf_dir} {data_dir}/postgresql.auto.conf -type f"))
    assert "pg_hba.conf" in files and "postgresql.conf" in files
    paths = f"{conf_dir} {data_dir}/postgresql.auto.conf"
    loose = _ok(tb.ssh(f"find {paths} -type f \\( -perm /o=rwx -o ! -user postgres \\)"))
    assert loose == "", loose
