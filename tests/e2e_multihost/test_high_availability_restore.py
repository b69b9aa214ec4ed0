"""restore.yml on the lab's Patroni cluster: a point-in-time restore, as after a destructive
statement (README, "High availability: restoring a cluster").

After the failover drills (test_high_availability_failover.py) one member leads. A post is written
through the API, the database's clock read (the target), then a second post. restore.yml to that
time stops Patroni on both members, restores the backup server's backup and WAL on the leader,
hands it back to Patroni as the cluster's data, and the other member copies it anew. Asserted: the
first post is served on both app servers and the second is gone, the same member leads on a new
timeline with the other streaming as its synchronous standby, writes work again and archive into
the backup server's repository. Figures: restore.yml's seconds, the timelines.
"""

from __future__ import annotations

import time

import pytest
from support.client import create_post
from support.patroni import leader, members, wait_healthy
from support.roles import role_default

from .cluster import (
    DB,
    HA_DB_SERVERS,
    INVENTORY_HOSTS,
    ROLE_OF,
    other_member,
    su_sql,
    write_on_one_read_on_the_other,
)

pytestmark = pytest.mark.high_availability

STANZA = role_default("backup", "backup_stanza")
RESTORE_LOG = role_default("release", "release_restore_log")
# The database's clock in restore_time's form (UTC, with its offset).
NOW_SQL = (
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00'"
)


@pytest.fixture(scope="module")
def restored(ha_cluster, clients):
    listed = wait_healthy(ha_cluster.server("db"))
    primary = ROLE_OF[leader(listed).name]
    timeline_before = leader(listed).timeline
    app1, app2 = clients["app1"], clients["app2"]
    kept, token = write_on_one_read_on_the_other(app1, app2, "kept by the restore")
    time.sleep(1)
    target = su_sql(ha_cluster, NOW_SQL, role=primary)
    time.sleep(1)
    lost = create_post(app2, token, "undone by the restore", "Written after the target.")
    # Switches the WAL segment and waits until it is archived: the target is in the repository.
    ha_cluster.sh(primary, f"cd / && runuser -u postgres -- pgbackrest --stanza={STANZA} check")

    started = time.monotonic()
    run = ha_cluster.prov.run_playbook(
        "restore-ha", "restore.yml", ["-e", f"restore_time={target}", "-e", f"restore_confirm={DB}"]
    )
    seconds = time.monotonic() - started
    assert run.returncode == 0, f"restore.yml failed, log: {run.log_path}\n{run.tail()}"
    after = wait_healthy(ha_cluster.server("db"))
    print(
        f"\nrestore.yml on the cluster to {target}: {seconds:.0f} s; {primary} led on timeline "
        f"{timeline_before}, now {ROLE_OF[leader(after).name]} on timeline {leader(after).timeline}"
    )
    return {
        "primary": primary,
        "timeline": timeline_before,
        "after": after,
        "kept": kept,
        "lost": lost,
    }


def test_the_cluster_serves_the_database_as_it_was_at_the_target(clients, restored):
    for role, client in clients.items():
        kept = client.request(f"/api/v1/posts/{restored['kept']}/")
        assert kept.status == 200, (role, kept.status, kept.body)
        assert kept.json()["title"] == "kept by the restore", (role, kept.body)
        lost = client.request(f"/api/v1/posts/{restored['lost']}/")
        assert lost.status == 404, (role, lost.status, lost.body)


def test_the_leader_keeps_leading_on_a_new_timeline_the_other_member_copied_it(
    ha_cluster, restored
):
    lead = leader(restored["after"])
    assert ROLE_OF[lead.name] == restored["primary"], restored["after"]
    assert lead.timeline > restored["timeline"], restored["after"]
    # Both members list the same cluster: the other one's Patroni found the restored leader.
    other = other_member(restored["primary"])
    assert {m.name for m in members(ha_cluster.server(other))} == {
        INVENTORY_HOSTS[r] for r in HA_DB_SERVERS
    }
    logged = ha_cluster.sh(restored["primary"], f"tail -n 1 {RESTORE_LOG}")
    assert "restore target=" in logged and "undo_point=before-restore-" in logged, logged


def test_writes_work_again_and_archive_into_the_backup_servers_repository(
    ha_cluster, clients, restored
):
    write_on_one_read_on_the_other(clients["app2"], clients["app1"], "after the cluster's restore")
    check = f"pgbackrest --stanza={STANZA} --log-level-console=info check"
    out = ha_cluster.sh(restored["primary"], f"cd / && runuser -u postgres -- {check}")
    assert "check command end: completed successfully" in out, out
