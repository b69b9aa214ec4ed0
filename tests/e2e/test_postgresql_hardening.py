"""PostgreSQL on the provisioned test server is locked down as the postgresql role promises.

Checks run over ssh: as the postgres superuser through peer authentication, and as the
owner/runtime roles with their (generated, vaulted) passwords over 127.0.0.1. The privilege
checks are shared with the container stack's tests (least_privilege.py).
"""

from __future__ import annotations

import re
import shlex
import socket
from pathlib import Path

import pytest
from support import least_privilege as lp
from support.least_privilege import DB, OWNER, RUNTIME, ok
from support.pgbouncer import setting as pgbouncer_setting
from support.roles import role_default

_ok = ok


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


@pytest.fixture(scope="module")
def db(pg, owner, runtime):
    return lp.Database(
        superuser=lambda sql: su_psql(pg.testbed, sql, check=False), owner=owner, runtime=runtime
    )


@pytest.fixture
def probe_table(db):
    with lp.probe_table(db) as name:
        yield name


# --- roles and privileges (the checks the container stack runs too) ----------------------


def test_runtime_role_has_no_special_attributes(db):
    lp.check_runtime_role_has_no_special_attributes(db)


def _gunicorn_size(pg) -> tuple[int, int]:
    conf = pg.sh(f"cat {role_default('app', 'app_gunicorn_config_path')}")
    setting = dict(re.findall(r"^(workers|threads) = (\d+)$", conf, re.M))
    return int(setting["workers"]), int(setting["threads"])


def _runtime_connections_needed(pg) -> int:
    # The app role's headroom for management commands and probes, plus: behind PgBouncer (when
    # the test inventory turns it on) the pool's server connections; else every Gunicorn
    # thread's, twice over while a reload overlaps old and new workers.
    headroom = int(role_default("app", "app_db_connection_headroom"))
    if pg.inventory_vars().get("board_pgbouncer_enabled"):
        return pgbouncer_setting(pg, "max_db_connections") + headroom
    workers, threads = _gunicorn_size(pg)
    return 2 * workers * threads + headroom


def test_runtime_role_connection_limit_and_timeouts(pg, db):
    lp.check_runtime_role_connection_limit_and_timeouts(db, _runtime_connections_needed(pg))


def test_max_connections_leave_room_for_both_roles_and_postgres(pg):
    needed = _runtime_connections_needed(pg)
    owner = int(role_default("postgresql", "postgresql_owner_conn_limit"))
    reserved = int(role_default("postgresql", "postgresql_reserved_connections"))
    shown = int(su_psql(pg.testbed, "SHOW max_connections"))
    print(f"\nGunicorn {_gunicorn_size(pg)}: runtime limit {needed}, max_connections {shown}")
    assert shown == max(100, needed + owner + reserved)


def test_owner_role_attributes_and_lock_timeout(db):
    lp.check_owner_role_attributes_and_lock_timeout(db)


def test_roles_use_scram_password_hashes(db):
    lp.check_roles_use_scram_password_hashes(db)


def test_owner_role_owns_database_and_schema(db):
    lp.check_owner_role_owns_database_and_schema(db)


def test_runtime_role_owns_nothing(db):
    lp.check_runtime_role_owns_nothing(db)


def test_public_has_no_database_privileges_and_no_create_on_schema(db):
    lp.check_public_has_no_database_privileges_and_no_create_on_schema(db)


def test_runtime_role_has_only_connect_and_usage(db):
    lp.check_runtime_role_has_only_connect_and_usage(db)


def test_runtime_role_can_read_and_write_owner_tables(db, probe_table):
    lp.check_default_privileges_give_runtime_dml(db, probe_table)


def test_existing_tables_grant_exactly_dml_to_runtime(db, probe_table):
    lp.check_existing_tables_grant_exactly_dml_to_runtime(db, probe_table)


def test_migration_history_is_read_only_for_runtime(db):
    lp.check_migration_history_is_read_only_for_runtime(db)


@pytest.mark.parametrize("sql, error", lp.FORBIDDEN_SCHEMA_CHANGES)
def test_runtime_role_cannot_change_the_schema(db, probe_table, sql, error):
    lp.check_runtime_role_cannot_change_the_schema(db, probe_table, sql, error)


def test_runtime_role_cannot_grant_privileges(db, probe_table):
    lp.check_runtime_role_cannot_grant_privileges(db, probe_table)


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
        # The PostgreSQL exporter's pg_monitor login (peer: no password exists).
        "local|postgres|prometheus||peer|",
    ]
    # and the file itself has nothing else (comments aside)
    hba = su_psql(pg.testbed, "SHOW hba_file")
    text = _ok(pg.testbed.ssh(f"grep -Ev '^[[:space:]]*(#|$)' {shlex.quote(hba)}"))
    assert len(text.splitlines()) == 5
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
