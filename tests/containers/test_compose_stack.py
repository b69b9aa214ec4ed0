"""docker-compose.yml brought up with podman-compose: the API through nginx over HTTPS, the
database's least-privilege model (the same checks as the provisioned server), then torn down
with its volumes.
"""

from __future__ import annotations

import secrets

import pytest
from support import least_privilege as lp

from .podman import podman
from .stack import COMPOSE, PROJECT


def test_services_wait_for_their_dependencies():
    """What conftest.py's staged start-up stands in for, as docker compose reads it."""
    conditions = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in COMPOSE["services"].items()
    }
    assert conditions == {
        "db": {},
        "redis": {},
        "migrate": {"db": "service_healthy"},
        "app": {
            "db": "service_healthy",
            "redis": "service_healthy",
            "migrate": "service_completed_successfully",
        },
        "nginx": {"app": "service_healthy"},
        "backup": {"db": "service_healthy"},
    }


def test_migrate_ran_once_and_exited_cleanly(stack):
    state = stack.inspect("migrate")["State"]
    assert state["Status"] == "exited"
    assert state["ExitCode"] == 0, stack.logs()


def test_only_nginx_publishes_ports(stack):
    published = {}
    for service in ("db", "redis", "migrate", "app", "nginx"):
        ports = stack.inspect(service)["HostConfig"].get("PortBindings") or {}
        published[service] = sorted(
            port
            for port, bindings in ports.items()
            if any(b.get("HostPort") for b in bindings or [])
        )
    assert published == {
        "db": [],
        "redis": [],
        "migrate": [],
        "app": [],
        "nginx": ["443/tcp", "80/tcp"],
    }


def test_app_runs_read_only_without_capabilities_as_the_runtime_role(stack):
    info = stack.inspect("app")
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["Config"]["User"] == "10001:10001"
    out = podman("exec", stack.container("app"), "sh", "-c", "grep CapEff /proc/1/status; env")
    assert "CapEff:\t0000000000000000" in out.stdout
    assert "DATABASE_URL=postgres://board_app:" in out.stdout
    # the owner role's password is only where migrations run
    assert stack.secrets["BOARD_DB_OWNER_PASSWORD"] not in out.stdout


def test_readyz_and_healthz_through_nginx(stack, https, revision):
    r, body = https("GET", "/readyz")
    checks = {"database": "ok", "migrations": "ok", "cache": "ok"}
    assert (r.status, body) == (200, {"status": "ready", "checks": checks})
    r, _ = https("GET", "/healthz")
    assert r.status == 200
    assert r.getheader("X-App-Revision") == revision
    assert r.getheader("Strict-Transport-Security") == "max-age=63072000"
    assert r.getheader("X-Request-ID")


def test_register_token_post_list_soft_delete_over_https(stack, https):
    user = {"username": f"ctr{secrets.token_hex(4)}", "password": secrets.token_urlsafe(16)}
    r, body = https("POST", "/api/v1/auth/register/", user)
    assert r.status == 201, body
    r, body = https("POST", "/api/v1/auth/token/", user)
    assert r.status == 200, body
    token = body["access"]
    post = {"title": "From the stack", "content": "Posted through nginx", "tags": ["ctr"]}
    r, body = https("POST", "/api/v1/posts/", post, token=token)
    assert r.status == 201, body
    post_id = body["id"]
    r, body = https("GET", f"/api/v1/posts/?author={user['username']}")
    assert r.status == 200, body
    assert [p["id"] for p in body["results"]] == [post_id]
    r, _ = https("DELETE", f"/api/v1/posts/{post_id}/", token=token)
    assert r.status == 204
    r, body = https("GET", f"/api/v1/posts/{post_id}/")
    assert r.status == 404
    r, body = https("GET", f"/api/v1/posts/?author={user['username']}")
    assert body["results"] == []
    # soft delete: the row is still in the database
    db = _database(stack)
    kept = db.su(f"SELECT is_deleted FROM post WHERE post_no = {int(post_id)}")
    assert kept == "t"


# --- the least-privilege model, checked with the e2e suite's own checks ----------------------


def _database(stack) -> lp.Database:
    db_container = stack.container("db")

    def superuser(sql):
        return podman(
            "exec",
            db_container,
            "psql",
            "-XAtq",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            "postgres",
            "-d",
            lp.DB,
            "-c",
            sql,
            check=False,
        )

    def as_role(role, password_key):
        def run(sql):
            # The password reaches psql through the environment (-e NAME copies it), over TCP
            # with scram-sha-256 like the app's connections.
            return podman(
                "exec",
                "-e",
                "PGPASSWORD",
                db_container,
                "psql",
                "-XAtq",
                "-v",
                "ON_ERROR_STOP=1",
                f"host=127.0.0.1 dbname={lp.DB} user={role}",
                "-c",
                sql,
                check=False,
                env_extra={"PGPASSWORD": stack.secrets[password_key]},
            )

        return run

    return lp.Database(
        superuser=superuser,
        owner=as_role(lp.OWNER, "BOARD_DB_OWNER_PASSWORD"),
        runtime=as_role(lp.RUNTIME, "BOARD_DB_RUNTIME_PASSWORD"),
    )


@pytest.fixture(scope="module")
def db(stack):
    return _database(stack)


@pytest.fixture
def probe_table(db):
    with lp.probe_table(db) as name:
        yield name


@pytest.mark.parametrize(
    "check",
    [
        lp.check_runtime_role_has_no_special_attributes,
        lp.check_owner_role_attributes_and_lock_timeout,
        lp.check_roles_use_scram_password_hashes,
        lp.check_owner_role_owns_database_and_schema,
        lp.check_runtime_role_owns_nothing,
        lp.check_public_has_no_database_privileges_and_no_create_on_schema,
        lp.check_runtime_role_has_only_connect_and_usage,
        lp.check_migration_history_is_read_only_for_runtime,
    ],
    ids=lambda f: f.__name__.removeprefix("check_"),
)
def test_least_privilege(db, check):
    check(db)


def test_runtime_role_connection_limit_and_timeouts(db):
    limit = COMPOSE["services"]["db"]["environment"]["BOARD_DB_RUNTIME_CONN_LIMIT"]
    lp.check_runtime_role_connection_limit_and_timeouts(db, int(limit))


@pytest.mark.parametrize(
    "check",
    [
        lp.check_default_privileges_give_runtime_dml,
        lp.check_existing_tables_grant_exactly_dml_to_runtime,
        lp.check_runtime_role_cannot_grant_privileges,
    ],
    ids=lambda f: f.__name__.removeprefix("check_"),
)
def test_least_privilege_on_a_migrated_table(db, probe_table, check):
    check(db, probe_table)


@pytest.mark.parametrize("sql, error", lp.FORBIDDEN_SCHEMA_CHANGES)
def test_runtime_role_cannot_change_the_schema(db, probe_table, sql, error):
    lp.check_runtime_role_cannot_change_the_schema(db, probe_table, sql, error)


def redis_cli(stack, commands: str, password: str | None = None) -> str:
    """redis-cli in the redis container; AUTH goes through stdin, never argv."""
    if password is not None:
        commands = f"AUTH app {password}\n{commands}"
    r = podman("exec", "-i", stack.container("redis"), "redis-cli", input=commands)
    return r.stdout


def test_throttle_counters_live_in_redis_behind_its_acl_user(stack, https):
    info = stack.inspect("redis")
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    out = podman("exec", stack.container("redis"), "grep", "CapEff", "/proc/1/status").stdout
    assert "CapEff:\t0000000000000000" in out
    for _ in range(3):
        r, _ = https("GET", "/api/v1/posts/")
        assert r.status == 200
    # Anonymous clients can run nothing; the app's user sees the counters but no @dangerous command.
    assert redis_cli(stack, "PING\n").startswith("NOAUTH")
    reply = redis_cli(
        stack,
        "SCAN 0 MATCH *throttle_* COUNT 1000\nCONFIG GET save\n",
        stack.secrets["REDIS_PASSWORD"],
    )
    assert "throttle_anon_" in reply, reply
    assert "NOPERM" in reply, reply
    assert "WRONGPASS" in redis_cli(stack, "PING\n", "not-the-password")
    # The password is in the config only as its hash.
    conf = podman("exec", stack.container("redis"), "cat", "/tmp/redis.conf").stdout
    assert stack.secrets["REDIS_PASSWORD"] not in conf
    assert "user app on #" in conf


def test_wrong_password_is_rejected(stack):
    r = podman(
        "exec",
        "-e",
        "PGPASSWORD",
        stack.container("db"),
        "psql",
        "-XAtq",
        f"host=127.0.0.1 dbname={lp.DB} user={lp.RUNTIME}",
        "-c",
        "SELECT 1",
        check=False,
        env_extra={"PGPASSWORD": "not-the-password"},
    )
    assert r.returncode != 0
    assert "password authentication failed" in r.stderr


def test_zz_teardown_removes_containers_and_volumes(stack):
    volumes = [f"{PROJECT}_pgdata", f"{PROJECT}_tls", f"{PROJECT}_backups"]
    assert all(podman("volume", "exists", v, check=False).returncode == 0 for v in volumes)
    stack.compose("down", "--volumes")
    left = podman("ps", "--all", "--filter", f"name={PROJECT}_", "--format", "{{.Names}}").stdout
    assert left.strip() == ""
    assert [v for v in volumes if podman("volume", "exists", v, check=False).returncode == 0] == []
    networks = podman("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert [n for n in networks if n.startswith(f"{PROJECT}_")] == []
