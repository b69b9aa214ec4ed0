"""Releases roll across the app servers: deploy.yml and rollback.yml under HTTPS load on both.

The servers switch one at a time, each behind its probes: a watcher asks each app server which
revision it serves (/healthz, X-App-Revision) over and over, and the states it sees must go
(old, old) -> (new, old) -> (new, new), never with the second server ahead. A release whose
probe fails stops the roll at the first server, which switches back. These tests change the
deployed release, so they run after the disaster recovery (marker `releases`), in file order.
"""

from __future__ import annotations

import http.client
import re
import ssl
import threading
import time
from contextlib import ExitStack

import pytest
from support.load import SWITCH_LOAD_RATE, HttpsConnection, HttpsLoad
from support.releases import deploy_args, prebuild

from .cluster import APP_ROOT, APP_SERVERS, served, su_sql

pytestmark = pytest.mark.releases


class RevisionWatch:
    """Polls /healthz on every app server; keeps the distinct (rev app1, rev app2) states."""

    def __init__(self, clients):
        self.targets = [
            (c.ip, c.server_name, ssl.create_default_context(cafile=str(c.cacert)))
            for c in (clients[r] for r in APP_SERVERS)
        ]
        self.states: list[tuple[str, ...]] = []
        self.polls: list[int] = []  # how many polls in a row saw each state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _revision(self, ip, name, context) -> str:
        conn = HttpsConnection(ip, name, context, 10)
        try:
            conn.request("GET", "/healthz", headers={"Host": name})
            response = conn.getresponse()
            response.read()
            return response.getheader("X-App-Revision") or "?"
        except (OSError, http.client.HTTPException):
            return "?"
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            state = tuple(self._revision(*target) for target in self.targets)
            if "?" in state:
                pass
            elif self.states and self.states[-1] == state:
                self.polls[-1] += 1
            else:
                self.states.append(state)
                self.polls.append(1)
            time.sleep(0.2)

    def __enter__(self) -> RevisionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(1)
        self._stop.set()
        self._thread.join(15)


def _loads(clients) -> list[HttpsLoad]:
    # Load on both app servers at once, as a load balancer would spread it: the site gets
    # SWITCH_LOAD_RATE in all, as the single server does.
    return [
        HttpsLoad(
            c.ip,
            c.server_name,
            str(c.cacert),
            threads=2,
            rate=SWITCH_LOAD_RATE / len(APP_SERVERS),
            min_seconds=20,
            max_seconds=400,
            timeout=30,
        )
        for c in (clients[r] for r in APP_SERVERS)
    ]


def _under_load(cluster, clients, label: str, playbook: str, args: list[str]):
    loads = _loads(clients)
    with ExitStack() as stack:
        watch = stack.enter_context(RevisionWatch(clients))
        for load in loads:
            stack.enter_context(load)
        run = cluster.prov.run_playbook(label, playbook, args)
    for role, load in zip(APP_SERVERS, loads):
        print(f"\n{role}: {load.result.summary()}")
    print(f"states seen: {[tuple(r[:10] for r in s) for s in watch.states]}")
    print(f"polls per state: {watch.polls}")
    return run, loads, watch


def _short(states):
    return [tuple(r[:10] for r in s) for s in states]


def test_deploy_rolls_one_app_server_at_a_time_under_load(cluster, clients, revisions):
    old = served(cluster)["app1"]
    assert served(cluster)["app2"] == old
    new = revisions["visible"]
    prebuild(cluster.prov, revisions, new)
    run, loads, watch = _under_load(
        cluster, clients, "deploy-roll", "deploy.yml", deploy_args(revisions, new)
    )
    assert run.returncode == 0, f"deploy.yml failed, log: {run.log_path}\n{run.tail()}"
    for load in loads:
        assert load.result.errors == 0, load.result.error_samples
        assert load.result.requests >= 50
    states = watch.states
    assert states == [(old, old), (new, old), (new, new)], _short(states)
    # Not a race the watcher happened to see: app1 served the new release alone through its
    # probes (seconds), while app2 still served the old one.
    assert watch.polls[1] >= 5, watch.polls
    assert served(cluster) == {"app1": new, "app2": new}
    # One artifact: both servers recorded the same hash for the release.
    hashes = {cluster.sh(r, f"cat {APP_ROOT}/releases/{new}/.artifact-sha256") for r in APP_SERVERS}
    assert len(hashes) == 1 and len(hashes.pop()) == 64
    # The migrations ran once: one migrate task result for the whole play.
    assert (
        run.stdout.count("TASK [release : Apply the database migrations as the schema owner]") == 1
    )


def test_a_release_that_fails_its_probe_stops_the_roll_at_the_first_server(
    cluster, clients, revisions
):
    serving = served(cluster)["app1"]
    another = revisions["another"]
    prebuild(cluster.prov, revisions, another)
    run, loads, watch = _under_load(
        cluster,
        clients,
        "deploy-roll-stops",
        "deploy.yml",
        deploy_args(
            revisions,
            another,
            "-e",
            f"release_public_url=https://{clients['app1'].server_name}/not-the-board",
            "-e",
            "release_public_probe_attempts=1",
        ),
    )
    states = watch.states
    assert run.returncode != 0
    assert f"Switched back to {serving}, which serves again." in run.stdout
    assert "The roll stopped at board-app1: board-app2 was not switched" in run.stdout
    for load in loads:
        assert load.result.errors == 0, load.result.error_samples
    # app1 moved and came back; app2 never moved.
    assert all(state[1] == serving for state in states), _short(states)
    assert states[0] == (serving, serving) and states[-1] == (serving, serving), _short(states)
    assert served(cluster) == {"app1": serving, "app2": serving}


def test_rollback_rolls_back_both_app_servers_one_at_a_time_under_load(cluster, clients, revisions):
    new = served(cluster)["app1"]
    run, loads, watch = _under_load(cluster, clients, "rollback-roll", "rollback.yml", [])
    states = watch.states
    assert run.returncode == 0, f"rollback.yml failed, log: {run.log_path}\n{run.tail()}"
    back = served(cluster)["app1"]
    assert back != new and served(cluster)["app2"] == back
    for load in loads:
        assert load.result.errors == 0, load.result.error_samples
    assert states == [(new, new), (back, new), (back, back)], _short(states)
    assert watch.polls[1] >= 5, watch.polls


def test_a_new_app_server_joins_on_the_release_the_others_serve(cluster, revisions):
    # After the rollback both serve an older release than the checkout's HEAD (the clone's
    # "another"). app2 loses its releases, as a server just added to app_servers has none;
    # site.yml must install the release app1 serves, not HEAD, and migrate nothing.
    serving = served(cluster)["app1"]
    head = revisions["another"]
    assert serving != head
    cluster.sh("app2", "systemctl stop gunicorn.socket gunicorn.service")
    cluster.sh("app2", f"rm -rf {APP_ROOT}/current {APP_ROOT}/releases")
    run = cluster.prov.run_playbook(
        "site-new-app-server",
        "site.yml",
        ["--tags", "release", "-e", f"release_build_repo={revisions['clone']}"],
    )
    assert run.returncode == 0, f"site.yml failed, log: {run.log_path}\n{run.tail()}"
    assert served(cluster) == {"app1": serving, "app2": serving}
    assert f"board-app2 serves no release yet: it installs {serving}" in run.stdout, run.tail()
    assert _task_hosts(run, "Apply the database migrations as the schema owner") == set()
    assert cluster.sh("app2", "systemctl is-active gunicorn.socket") == "active"


def _task_hosts(run, task: str, status: str = "changed") -> set[str]:
    """Hosts the log shows with `status` for the task named `task` (loop items included)."""
    block = run.stdout.split(f"TASK [release : {task}]", 1)[1].split("\nTASK [", 1)[0]
    return set(re.findall(rf"^{status}: \[([^\]]+)\]", block, re.M))


def test_restore_runs_on_the_database_server_while_every_app_server_waits(cluster, clients):
    # A restore point in the shared database, then a row written after it.
    point = f"e2e-multihost-{int(time.time())}"
    su_sql(cluster, f"SELECT pg_create_restore_point('{point}')")
    marker = f"after-the-point-{int(time.time())}"
    su_sql(cluster, f"INSERT INTO board_tag (name) VALUES ('{marker}')")
    run = cluster.prov.run_playbook(
        "restore", "restore.yml", ["-e", f"restore_point={point}", "-e", "restore_confirm=board"]
    )
    assert run.returncode == 0, f"restore.yml failed, log: {run.log_path}\n{run.tail()}"
    # Gunicorn stopped on both app servers; pgBackRest restored once, on the database server.
    stopped = _task_hosts(run, "Stop Gunicorn and its socket during the restore")
    assert stopped == {"board-app1", "board-app2"}, run.tail()
    restored = _task_hosts(
        run, "Restore the backup and the WAL up to the target (pgbackrest restore --delta)"
    )
    assert len(restored) == 1 and restored.pop().startswith("board-app1 -> board-db"), restored
    assert su_sql(cluster, f"SELECT count(*) FROM board_tag WHERE name = '{marker}'") == "0"
    for role in APP_SERVERS:
        for _ in range(30):
            if clients[role].request("/readyz").status == 200:
                break
            time.sleep(1)
        else:
            pytest.fail(f"/readyz on {role} did not answer 200 after the restore")
        assert cluster.sh(role, "systemctl is-active gunicorn.socket") == "active"
