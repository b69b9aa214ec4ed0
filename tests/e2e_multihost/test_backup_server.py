"""The backups' second repository, off the database server: pgBackRest's own TLS server on the
backup server (repo2), mutual TLS with certificates from the role's CA, each side admitting the
other's name only, the port open to the other side only.

The lab's economy: app2 is the backup server (BACKUP_SERVER) as well as an app server; a real
deployment gives it a host of its own (README, "Backups"). The figures printed are the time of
`pgbackrest check` (WAL into both repositories), of a differential backup into repo2, and the
drill's (marked `faults`: it breaks both TLS servers for a while): kill -9 -> active again, a start
that fails -> failed for good -> SystemdUnitFailed firing.
"""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.monitoring import query, wait_until
from support.roles import role_default
from support.unit_faults import FailedStart, failing_start, kill_and_wait_restart

from .cluster import BACKUP_SERVER, INVENTORY_HOSTS

STANZA = "board"
PORT = 8432
CONF = "/etc/pgbackrest/pgbackrest.conf"
TLS_DIR = "/etc/pgbackrest/tls"
UNIT = "pgbackrest.service"
REPO1 = role_default("backup", "backup_repo_path")
REPO2 = role_default("backup", "backup_server_repo_path")


def _pgbackrest(cluster, role: str, user: str, args: str) -> str:
    return cluster.sh(role, f"cd / && runuser -u {user} -- pgbackrest --stanza={STANZA} {args}")


def _info(cluster, role: str, user: str, args: str = "") -> dict:
    return json.loads(_pgbackrest(cluster, role, user, f"{args} --output=json info"))[0]


def _settings(cluster, role: str) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9-]+)=(.*)$", cluster.sh(role, f"cat {CONF}"), re.M))


def _reachable(cluster, source: str, target: str) -> bool:
    ip = cluster.server(target).ip
    probe = f"timeout 5 bash -c '</dev/tcp/{ip}/{PORT}' && echo open || echo closed"
    return cluster.sh(source, probe, check=False).splitlines()[-1] == "open"


def test_pgbackrest_check_archives_into_both_repositories(cluster):
    started = time.monotonic()
    out = _pgbackrest(cluster, "db", "postgres", "--log-level-console=info check")
    print(f"\npgbackrest check (WAL into repo1 and repo2): {time.monotonic() - started:.1f} s")
    for repo in ("repo1", "repo2"):
        assert re.search(rf"successfully archived to .* on {repo}\b", out), out
    # repo2 is encrypted and says so to the database server too.
    repos = {r["key"]: r for r in _info(cluster, "db", "postgres")["repo"]}
    assert set(repos) == {1, 2}, repos
    assert all(r["cipher"] == "aes-256-cbc" and r["status"]["code"] == 0 for r in repos.values())


def test_a_backup_into_repo2_lands_on_the_backup_server(cluster):
    before = {b["label"] for b in _info(cluster, BACKUP_SERVER, "pgbackrest")["backup"]}
    # site.yml took repo2's first full backup on the backup server.
    assert before, "no backup in repo2 after site.yml"
    started = time.monotonic()
    cluster.sh(BACKUP_SERVER, "systemctl start board-backup@diff.service")
    print(f"\na differential backup into repo2: {time.monotonic() - started:.1f} s")
    backups = _info(cluster, BACKUP_SERVER, "pgbackrest")["backup"]
    new = [b for b in backups if b["label"] not in before]
    assert len(new) == 1 and new[0]["type"] == "diff", backups
    label = new[0]["label"]
    # Its files are on the backup server's disk, in repo2, and not in the database server's repo1.
    assert (
        cluster.sh(BACKUP_SERVER, f"test -d {REPO2}/backup/{STANZA}/{label} && echo yes") == "yes"
    )
    assert cluster.sh("db", f"test -e {REPO1}/backup/{STANZA}/{label} || echo no") == "no"
    # The database server sees it in repo2, through the backup server's TLS server.
    seen = {
        (b["label"], b["database"]["repo-key"]) for b in _info(cluster, "db", "postgres")["backup"]
    }
    assert (label, 2) in seen, seen
    outcome = cluster.sh(
        BACKUP_SERVER, "cat /var/lib/prometheus/node-exporter/board_backup_run.prom"
    )
    assert "board_backup_last_outcome 1" in outcome.splitlines(), outcome


def test_each_side_admits_the_others_certificate_name_only(cluster):
    db_name, backup_name = INVENTORY_HOSTS["db"], INVENTORY_HOSTS[BACKUP_SERVER]
    on_backup, on_db = _settings(cluster, BACKUP_SERVER), _settings(cluster, "db")
    assert on_backup["tls-server-auth"] == f"{db_name}={STANZA}"
    assert on_db["tls-server-auth"] == f"{backup_name}={STANZA}"
    assert on_db["repo2-host"] == cluster.server(BACKUP_SERVER).ip
    assert on_db["repo2-host-type"] == "tls"
    # pgBackRest sends the database server's repo2-path to the backup server: it must be repo2's.
    assert on_db["repo2-path"] == on_backup["repo2-path"] == REPO2 != on_db["repo1-path"]
    assert on_backup["pg1-host"] == cluster.server("db").ip
    assert on_backup["pg1-host-type"] == "tls"
    # The names those lines admit are the names in the certificates each side presents.
    for role, name in (("db", db_name), (BACKUP_SERVER, backup_name)):
        subject = cluster.sh(role, f"openssl x509 -in {TLS_DIR}/host.crt -noout -subject")
        assert subject.replace(" ", "") == f"subject=CN={name}", subject
    # Keys: each host's readable by pgBackRest's account there only; the CA's on the backup server
    # only, root's.
    modes = {
        ("db", "host.key"): "600 postgres",
        (BACKUP_SERVER, "host.key"): "600 pgbackrest",
        (BACKUP_SERVER, "ca.key"): "600 root",
    }
    for (role, key), expected in modes.items():
        assert cluster.sh(role, f"stat -c '%a %U' {TLS_DIR}/{key}") == expected, (role, key)
    assert cluster.sh("db", f"test -e {TLS_DIR}/ca.key || echo absent") == "absent"


def test_the_tls_servers_run_under_systemd_with_a_start_limit(cluster):
    for role, user in (("db", "postgres"), (BACKUP_SERVER, "pgbackrest")):
        show = cluster.sh(
            role,
            "systemctl show pgbackrest.service "
            "-p ActiveState -p User -p Restart -p StartLimitBurst -p NoNewPrivileges",
        )
        props = dict(line.split("=", 1) for line in show.splitlines())
        assert props["ActiveState"] == "active" and props["User"] == user, props
        assert props["Restart"] == "always" and props["NoNewPrivileges"] == "yes", props
        assert int(props["StartLimitBurst"]) > 0, props
        listening = cluster.sh(role, f"ss -Hltn 'sport = :{PORT}'")
        assert [line.split()[3] for line in listening.splitlines()] == [
            f"{cluster.server(role).ip}:{PORT}"
        ], listening


def test_prometheus_measures_both_tls_servers(cluster):
    # The node exporter's systemd collector on each side: a failed unit is SystemdUnitFailed.
    hosts = {INVENTORY_HOSTS["db"], INVENTORY_HOSTS[BACKUP_SERVER]}
    expr = 'node_systemd_unit_state{name="pgbackrest.service", state="active"} == 1'
    wait_until(
        lambda: {r["metric"]["host"] for r in query(cluster.server("db"), expr)} >= hosts,
        timeout=180,
        interval=5,
        what="pgbackrest.service active on both hosts in Prometheus",
    )


def test_the_tls_ports_admit_the_other_side_only(cluster):
    assert _reachable(cluster, "db", BACKUP_SERVER)
    assert _reachable(cluster, BACKUP_SERVER, "db")
    # app1 shares the private network but is neither side: the firewall drops it on both hosts.
    assert not _reachable(cluster, "app1", BACKUP_SERVER)
    assert not _reachable(cluster, "app1", "db")


@pytest.mark.faults
def test_a_killed_tls_server_restarts_and_one_that_cannot_start_alerts(cluster):
    """The TLS servers' Restart= and start limit at work on both sides at once (the drill's time
    is mostly the alert's `for`, so both cost what one does): kill -9 and each serves again; a
    start that fails and each stays failed (not looping) until Prometheus's SystemdUnitFailed
    fires for it; repaired, each serves again and WAL reaches both repositories."""
    sides = ("db", BACKUP_SERVER)
    listening = f"ss -Hltn 'sport = :{PORT}' | grep -q ."

    def both_serve() -> bool:
        return _reachable(cluster, "db", BACKUP_SERVER) and _reachable(cluster, BACKUP_SERVER, "db")

    with ThreadPoolExecutor(len(sides)) as pool:
        restarted = dict(
            zip(
                sides,
                pool.map(
                    lambda r: kill_and_wait_restart(cluster.server(r), UNIT, listening), sides
                ),
                strict=True,
            )
        )
    hosts = {INVENTORY_HOSTS[role] for role in sides}
    firing = f'ALERTS{{alertname="SystemdUnitFailed", alertstate="firing", name="{UNIT}"}}'
    failed: dict[str, FailedStart] = {}
    alerted = threading.Event()

    def break_until_alerted(role: str) -> None:
        # Each side in its own thread, broken and repaired at the same time as the other.
        with failing_start(cluster.server(role), UNIT) as failed[role]:
            alerted.wait(timeout=300)

    def alert_fired(breaks) -> bool:
        for done in (b for b in breaks if b.done()):
            done.result()  # a side whose break failed fails the test now
        return {r["metric"]["host"] for r in query(cluster.server("db"), firing)} >= hosts

    with ThreadPoolExecutor(len(sides)) as pool:
        broke = time.monotonic()
        breaks = [pool.submit(break_until_alerted, role) for role in sides]
        try:
            wait_until(
                lambda: alert_fired(breaks),
                timeout=300,
                interval=2,
                what=f"SystemdUnitFailed firing for {UNIT} on both hosts",
            )
            fired = time.monotonic() - broke
        finally:
            alerted.set()
        for done in breaks:
            done.result()
    for role in sides:
        assert cluster.sh(role, f"systemctl is-active {UNIT}") == "active", role
    wait_until(both_serve, timeout=30, what="both TLS servers listening after the repair")
    _pgbackrest(cluster, "db", "postgres", "check")  # WAL reaches both repositories again
    print(
        f"\n{UNIT}: kill -9 -> active again: "
        + ", ".join(f"{r} {s:.1f} s" for r, s in restarted.items())
    )
    print(
        f"{UNIT}: failing start -> failed: "
        + ", ".join(f"{r} {f.seconds:.1f} s ({f.restarts} restarts)" for r, f in failed.items())
        + f"; SystemdUnitFailed firing for both {fired:.0f} s after the break"
    )
