"""Disaster recovery from the backup server alone (README, "Disaster recovery"): the database
server is lost with its disk (repo1 with it) and a fresh host takes its place.

Posts are written through the API, a differential backup goes into repo2 on the backup server,
more posts follow (they come back from the archived WAL), then the database server is destroyed
and re-created from the cached rootfs: same inventory name and address, a new SSH key and host
key (the inventory is rewritten), an empty disk. The procedure then runs as an operator runs it:
site.yml stops at once (the backup server holds the stanza's backups), and site.yml in
disaster-recovery mode provisions the new host, restores repo2's backup and WAL where it would
create a new cluster's stanza, hands the new database CA to the app servers and gives the new host
its repo1. The API then serves every post written before, and writes again. Figures: the seconds
of each step and of the whole drill (its RTO), the posts checked.

Same address rather than a fourth host: the lab's economy (no extra host, network or provisioning
of the app servers' firewall rules); the inventory still changes (keys, host key), and a new
address only adds pg1-host on the backup server and the app servers' database host, which the
same site.yml run rewrites. Marked ``last``: the release, fault, high-availability and
external-database modules run on the recovered fleet, and the site.yml that must change nothing
on any server is the high-availability module's, after the conversion.
"""

from __future__ import annotations

import time

import pytest
from support.client import create_post
from support.roles import role_default

from .cluster import BACKUP_SERVER, DB, INVENTORY_HOSTS, su_sql, write_on_one_read_on_the_other
from .lab_inventory import write_lab_hosts

pytestmark = pytest.mark.last

STANZA = role_default("backup", "backup_stanza")
# Posts written before the backup into repo2, and after it (replayed from repo2's WAL).
POSTS_BEFORE_BACKUP, POSTS_AFTER_BACKUP = 5, 5
# Every column of every post, in key order.
DIGEST_SQL = (
    "SELECT count(*) || ' ' || md5(coalesce(string_agg(p::text, ',' ORDER BY post_no), ''))"
    " FROM post p"
)
REFUSAL = "Restore it from the backup server"


def _words(text: str) -> str:
    """Ansible's output with its line wrapping undone."""
    return " ".join(text.split())


def _wait_for_api(client, path: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while (status := client.request(path).status) != 200:
        assert time.monotonic() < deadline, f"{path}: {status} after the restore"
        time.sleep(2)


def test_restore_refuses_a_repository_the_database_server_does_not_have(cluster):
    run = cluster.prov.run_playbook(
        "restore-repo7", "restore.yml", ["-e", "restore_repo=7", "-e", f"restore_confirm={DB}"]
    )
    assert run.returncode != 0, run.tail()
    refusal = (
        f"restore_repo=7: {INVENTORY_HOSTS['db']} has no repo7 (its repositories: repo1, repo2)"
    )
    assert refusal in _words(run.stdout), run.tail()
    # Refused before anything stopped: both app servers still serve.
    for role in ("app1", "app2"):
        assert cluster.sh(role, "systemctl is-active gunicorn.service") == "active"


@pytest.fixture(scope="module")
def drill(cluster, clients):
    app1, app2 = clients["app1"], clients["app2"]
    first, token = write_on_one_read_on_the_other(app1, app2, "dr-0")
    before = {first: "dr-0"}
    for i in range(1, POSTS_BEFORE_BACKUP):
        title = f"dr-{i}"
        before[create_post(app1, token, title, f"{title}: written before the disaster.")] = title
    cluster.sh(BACKUP_SERVER, "systemctl start board-backup@diff.service")
    after = {}
    for i in range(POSTS_BEFORE_BACKUP, POSTS_BEFORE_BACKUP + POSTS_AFTER_BACKUP):
        title = f"dr-{i}"
        after[create_post(app2, token, title, f"{title}: written before the disaster.")] = title
    # Switches the WAL segment and waits until it is archived into both repositories: every
    # acknowledged post is in repo2 (a real loss costs up to archive_timeout more).
    cluster.sh("db", f"cd / && runuser -u postgres -- pgbackrest --stanza={STANZA} check")
    digest = su_sql(cluster, DIGEST_SQL)

    seconds: dict[str, float] = {}
    started = time.monotonic()
    cluster.lab.replace("db")
    write_lab_hosts(cluster.lab, cluster.prov.inventory_dir)
    seconds["fresh host"] = time.monotonic() - started

    step = time.monotonic()
    refused = cluster.prov.run_playbook("dr-site-refused")
    seconds["site.yml (refused)"] = time.monotonic() - step

    step = time.monotonic()
    recovery = cluster.prov.run_playbook(
        "dr-site-recovery",
        extra_args=[
            "-e",
            "backup_disaster_recovery=true",
            "-e",
            f"backup_disaster_recovery_confirm={DB}",
        ],
    )
    seconds["site.yml (disaster recovery)"] = time.monotonic() - step
    assert recovery.returncode == 0, f"{recovery.log_path}\n{recovery.tail()}"
    for client in (app1, app2):
        _wait_for_api(client, f"/api/v1/posts/{first}/")
    rto = time.monotonic() - started
    print("\ndisaster recovery drill: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    print(f"RTO of the drill (host lost to the API serving the restored posts): {rto:.0f} s")
    return {
        "before": before,
        "after": after,
        "digest": digest,
        "refused": refused,
        "recovery": recovery,
    }


def test_site_stops_at_once_on_a_fresh_database_server_and_names_the_procedure(cluster, drill):
    run = drill["refused"]
    assert run.returncode != 0, run.tail()
    out = _words(run.stdout)
    assert REFUSAL in out and "backup_disaster_recovery=true" in out, run.tail()
    # It stopped before any server changed (the fresh host got no empty cluster).
    assert all(counts["changed"] == 0 for counts in run.recap.values()), run.recap
    assert run.recap[INVENTORY_HOSTS["db"]]["failed"] == 1, run.recap


def test_the_api_serves_every_post_written_before_the_loss(cluster, clients, drill):
    posts = {**drill["before"], **drill["after"]}
    for role, client in clients.items():
        for post_id, title in posts.items():
            response = client.request(f"/api/v1/posts/{post_id}/")
            assert response.status == 200 and response.json()["title"] == title, (role, post_id)
    # The whole post table, every row and its content, as it was before the loss.
    digest = su_sql(cluster, DIGEST_SQL)
    assert digest == drill["digest"], (digest, drill["digest"])
    print(
        f"\nposts checked: {digest.split()[0]} (table digest); {len(posts)} read through the API"
        f" on each app server, {len(drill['after'])} of them written after the last backup"
        " (replayed from repo2's WAL)"
    )


def test_writes_work_again_and_the_new_server_backs_up_into_both_repositories(
    cluster, clients, drill
):
    # A new user registers, takes a token on the other app server and posts (the drill outlasts
    # the tokens issued before the loss).
    write_on_one_read_on_the_other(clients["app1"], clients["app2"], "dr-after")
    # pgBackRest's own log of the restore: from repo2, the only copy left.
    log = cluster.sh("db", f"grep 'restore command begin' /var/log/pgbackrest/{STANZA}-restore.log")
    assert len(log.splitlines()) == 1 and "--repo=2" in log, log
    check = f"pgbackrest --stanza={STANZA} --log-level-console=info check"
    out = cluster.sh("db", f"cd / && runuser -u postgres -- {check}")
    for repo in ("repo1", "repo2"):
        assert f"on {repo}" in out, out
