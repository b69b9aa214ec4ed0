"""The lab after site.yml, as the three-server tests reach it: which server does which job, and
what several test modules ask of it (the revision each app server serves, SQL on the database
server or from an app server, a post written on one app server and read on the other)."""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass

from e2e.testbed.lab import Lab
from support.client import post_auth
from support.playbooks import PlaybookRun, Provisioned
from support.roles import role_default

# Inventory hostnames of the lab's servers.
INVENTORY_HOSTS = {
    "db": "board-db",
    "app1": "board-app1",
    "app2": "board-app2",
    "db2": "board-db2",
}
# The server's job from its inventory hostname (patronictl lists members by the latter).
ROLE_OF = {name: role for role, name in INVENTORY_HOSTS.items()}
APP_SERVERS = ("app1", "app2")
# The database servers: one until the high-availability tests add db2 (a Patroni cluster); the
# backup server is then etcd's witness (group_vars: board_ha_witness).
DB_SERVERS = ("db",)
HA_DB_SERVERS = ("db", "db2")

# The server that keeps the backups' second repository (pgBackRest's repo2).
BACKUP_SERVER = "app2"


def other_member(role: str) -> str:
    """The Patroni cluster's member that is not `role`."""
    return next(r for r in HA_DB_SERVERS if r != role)


@dataclass
class Cluster:
    """The lab after site.yml: run playbooks (``prov``), reach each server by its job."""

    lab: Lab
    prov: Provisioned
    # The site.yml that made the lab's database servers a Patroni cluster (``ha_cluster``).
    conversion: PlaybookRun | None = None

    def server(self, role: str):
        return self.lab.servers[role]

    def sh(self, role: str, command: str, **kwargs) -> str:
        return self.server(role).sh(command, **kwargs)

    @property
    def secrets(self) -> dict[str, str]:
        return self.prov.secrets


APP_ROOT = role_default("app", "app_root")
CA_PATH = f"{APP_ROOT}/shared/database-ca.crt"
RUNTIME, OWNER, DB = "board_app", "board_owner", "board"

# Runs on an app server: one connection with the given libpq keywords, one statement; prints
# {"rows": [...]} or {"error": "..."}.
CONNECT_SCRIPT = r"""
import json, sys
import psycopg2
req = json.load(sys.stdin)
try:
    conn = psycopg2.connect(connect_timeout=5, **req["conninfo"])
    with conn, conn.cursor() as cur:
        cur.execute(req["sql"])
        rows = cur.fetchall() if cur.description else []
    print(json.dumps({"rows": [[str(v) for v in row] for row in rows]}))
except psycopg2.Error as exc:
    print(json.dumps({"error": str(exc)}))
"""


def connect(cluster, role: str, sql: str, **conninfo) -> dict:
    """Run `sql` from the server `role` with psycopg2; defaults: the runtime role, verify-full."""
    db = cluster.server("db")
    params = {
        "host": db.ip,
        "port": 5432,
        "dbname": DB,
        "user": RUNTIME,
        "password": cluster.secrets["vault_postgresql_runtime_password"],
        "sslmode": "verify-full",
        "sslrootcert": CA_PATH,
        **conninfo,
    }
    out = cluster.sh(
        role,
        f"{APP_ROOT}/current/venv/bin/python -c {shlex.quote(CONNECT_SCRIPT)}",
        input=json.dumps({"conninfo": params, "sql": sql}),
    )
    return json.loads(out.splitlines()[-1])


def su_sql(cluster, sql: str, role: str = "db") -> str:
    """`sql` as postgres on the database server `role` (with Patroni: the one that leads)."""
    return cluster.sh(role, f"cd / && sudo -u postgres psql -XAtq -d {DB} -c {shlex.quote(sql)}")


def served(cluster) -> dict[str, str]:
    return {
        role: cluster.sh(role, f"readlink {APP_ROOT}/current").removeprefix("releases/")
        for role in APP_SERVERS
    }


def write_on_one_read_on_the_other(one, other, title: str) -> tuple[int, str]:
    """Register on one app server, take a token on the other, post on the first and read the post
    on the second. Returns the post's id and the access token."""
    username, password = f"mh_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    reg = post_auth(
        one,
        "/api/v1/auth/register/",
        {"username": username, "password": password, "email": f"{username}@example.com"},
    )
    assert reg.status == 201, reg.body
    # A token issued by one server is good on the other: one SECRET_KEY, one user table.
    tok = post_auth(other, "/api/v1/auth/token/", {"username": username, "password": password})
    assert tok.status == 200, tok.body
    access = tok.json()["access"]
    post = one.request(
        "/api/v1/posts/",
        method="POST",
        token=access,
        json_body={"title": title, "content": "Written on one app server, read on the other."},
    )
    assert post.status == 201, post.body
    post_id = post.json()["id"]
    seen = other.request(f"/api/v1/posts/{post_id}/")
    assert seen.status == 200 and seen.json()["title"] == title, seen.body
    return post_id, access
