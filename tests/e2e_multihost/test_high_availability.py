"""Adding a database server: db2 joins db_servers and site.yml turns the running single server into
the first member of a Patroni cluster without losing data (roles/patroni/README.md).

The ``ha_cluster`` fixture (conftest.py) runs that site.yml once and prints its duration. Then:
both members run, one leads and the other is its synchronous standby; a post written before the
conversion is still served; a post written through one app server is read on the other (both dial
every database server and keep the primary, libpq's target_session_attrs=read-write); pgBackRest
still archives and checks from the backup server; the conversion changes no host role (base,
nginx...) on the servers provisioned before it; and a second site.yml changes nothing. Marked
``high_availability``: after every other group, as the topology does not go back. The failover
drills build on the same fixture in a module of their own.
"""

from __future__ import annotations

import re
import time

import pytest
from support.patroni import LEADER, SYNC_STANDBY, members
from support.roles import role_default

from .cluster import (
    APP_ROOT,
    APP_SERVERS,
    BACKUP_SERVER,
    HA_DB_SERVERS,
    INVENTORY_HOSTS,
    write_on_one_read_on_the_other,
)

pytestmark = pytest.mark.high_availability

STANZA = role_default("backup", "backup_stanza")


def test_both_members_run_one_leading_the_other_its_synchronous_standby(ha_cluster):
    listed = {m.name: m for m in members(ha_cluster.server("db"))}
    assert set(listed) == {INVENTORY_HOSTS[r] for r in HA_DB_SERVERS}, listed
    assert all(m.state in ("running", "streaming") for m in listed.values()), listed
    assert sorted(m.role for m in listed.values()) == [LEADER, SYNC_STANDBY], listed
    # The converted server keeps its data and leads; the new one copied it.
    assert listed[INVENTORY_HOSTS["db"]].role == LEADER, listed


def test_the_distribution_never_starts_the_converted_cluster_again(ha_cluster):
    # /etc/postgresql holds more than the versions' directories (the role's TLS directory).
    version = ha_cluster.sh("db", "pg_lsclusters --no-header").split()[0]
    assert ha_cluster.sh("db", f"cat /etc/postgresql/{version}/main/start.conf") == "disabled"
    state = ha_cluster.sh("db", f"systemctl is-enabled postgresql@{version}-main", check=False)
    assert state.splitlines()[-1] in ("disabled", "static"), state


def test_a_post_written_before_the_conversion_is_still_served(ha_cluster, clients, posts_before_ha):
    for role in APP_SERVERS:
        seen = clients[role].request(f"/api/v1/posts/{posts_before_ha['id']}/")
        assert seen.status == 200, (role, seen.body)
        assert seen.json()["title"] == posts_before_ha["title"]


def test_the_app_servers_dial_every_database_server_and_keep_the_primary(ha_cluster, clients):
    addresses = ",".join(ha_cluster.server(r).ip for r in HA_DB_SERVERS)
    for role in APP_SERVERS:
        env = ha_cluster.sh(role, f"cat {APP_ROOT}/shared/.env")
        url = re.search(r"^DATABASE_URL=(.*)$", env, re.M).group(1)
        assert f"@{addresses}:5432/" in url, role
        assert "target_session_attrs=read-write" in url and "sslmode=verify-full" in url, role
    one, other = clients["app1"], clients["app2"]
    write_on_one_read_on_the_other(one, other, f"ha app1->app2 {time.time_ns()}")
    write_on_one_read_on_the_other(other, one, f"ha app2->app1 {time.time_ns()}")


def test_pgbackrest_check_passes_on_the_backup_server(ha_cluster):
    started = time.monotonic()
    out = ha_cluster.sh(
        BACKUP_SERVER,
        f"cd / && sudo -u pgbackrest pgbackrest --stanza={STANZA} --log-level-console=info check",
    )
    print(
        f"\npgbackrest check from the backup server after the conversion: "
        f"{time.monotonic() - started:.1f} s"
    )
    assert "check command end: completed successfully" in out, out


# The roles the conversion has no reason to change on a server that ran site.yml before it: the
# conversion is their second run there (db's since it was a fresh host, in the disaster recovery).
HOST_ROLES = ("base", "nginx", "redis", "release")


def test_the_conversion_changes_no_host_role_on_the_servers_provisioned_before(ha_cluster):
    run = ha_cluster.conversion
    assert run is not None, "no log of the conversion's site.yml (ha_cluster)"
    before = {INVENTORY_HOSTS[r] for r in ("db", *APP_SERVERS)}
    changed = run.changed_by_role()
    # The fresh server's base did change: the log is read right.
    assert INVENTORY_HOSTS["db2"] in changed.get("base", set()), run.log_path
    touched = {r: sorted(changed[r] & before) for r in HOST_ROLES if changed.get(r, set()) & before}
    assert touched == {}, "\n".join(
        t for t in run.changed_tasks() if any(f"[{h}" in t for h in before)
    )


# The lab's one idempotence check: every server, after the disaster recovery, the releases, the
# faults and the conversion (one database server's idempotence is the single-host suite's). The
# host roles are skipped: on db, app1 and app2 the conversion was their idempotence run (above),
# and db2, the one server new to it, runs base alone of them, the same role on the same release as
# db. base is over half of the run's tasks.
def test_site_yml_again_changes_nothing(ha_cluster):
    skipped = ",".join(HOST_ROLES)
    started = time.monotonic()
    run = ha_cluster.prov.run_playbook("site-ha-again", extra_args=["--skip-tags", skipped])
    seconds = time.monotonic() - started
    print(f"\nsite.yml again on the Patroni cluster ({skipped} skipped): {seconds:.0f} s")
    assert run.returncode == 0, f"log: {run.log_path}\n" + run.tail()
    assert set(run.recap) >= {INVENTORY_HOSTS[r] for r in (*HA_DB_SERVERS, *APP_SERVERS)}
    changed = {host: counts["changed"] for host, counts in run.recap.items()}
    assert changed == dict.fromkeys(run.recap, 0), "\n".join(run.changed_tasks())
