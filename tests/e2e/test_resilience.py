"""A dependency that is down degrades the API instead of breaking it; the app's metrics are
served to Prometheus on loopback, never through the public site; crashed services come back.

The read-only checks run with the others; the drills (stopping Redis, kill -9) are marked `last`
and restore every service they touch.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from support.roles import role_default

from .app_metrics import (
    METRICS_ADDRESS,
    METRICS_PORT,
    answers,
    main_pid,
    sample,
    scrape,
    total,
    wait_for,
)

APP_ROOT = role_default("app", "app_root")

LIST = "/api/v1/posts/"


def _ready(client) -> dict:
    response = client.request("/readyz")
    return {"code": response.status, **(response.json() if response.status else {})}


def test_board_metrics_serves_request_counts_on_loopback(provisioned, client):
    before = sample(
        scrape(provisioned),
        "board_http_requests_total",
        view="post-list",
        method="GET",
        status="200",
    )
    codes = [client.request(LIST).status for _ in range(3)]
    assert codes.count(200) >= 1, codes
    text = scrape(provisioned)
    after = sample(text, "board_http_requests_total", view="post-list", method="GET", status="200")
    assert after >= before + codes.count(200), text
    for name in (
        "board_http_request_duration_seconds_bucket",
        "board_db_queries_per_request_bucket",
    ):
        assert f"{name}{{" in text, name
    listening = provisioned.sh(f"ss -Hltn 'sport = :{METRICS_PORT}'")
    assert listening.split()[3] == f"{METRICS_ADDRESS}:{METRICS_PORT}", listening
    assert len(listening.splitlines()) == 1, listening


@pytest.mark.parametrize(
    "path",
    [
        "/metrics",
        "/metrics/",
        "//metrics",
        "/%6Detrics",
        "/api/../metrics",
        "/api/v1/../../metrics",
    ],
)
def test_metrics_are_not_served_by_the_public_site(client, path):
    response = client.request(path, extra=["--path-as-is"])
    assert response.status == 404, (path, response.status, response.body[:200])
    assert "board_http_requests_total" not in response.body


def test_the_metrics_port_is_closed_from_outside(provisioned, client):
    proc = subprocess.run(
        [
            "curl",
            "--silent",
            "--noproxy",
            "*",
            "--max-time",
            "5",
            f"http://{provisioned.testbed.ip}:{METRICS_PORT}/metrics",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0 and "board_" not in proc.stdout, proc.stdout[:200]


def _answered(provisioned) -> float:
    """Requests to the post list answered since Gunicorn started, whatever their status."""
    return total(scrape(provisioned), "board_http_requests_total", view="post-list")


@pytest.mark.last
def test_a_reload_keeps_the_totals(provisioned, client):
    """`systemctl reload gunicorn` (every deploy) replaces the workers, not their counts."""
    codes = [client.request(LIST).status for _ in range(3)]
    before = _answered(provisioned)
    assert before >= 3, codes

    def workers() -> set[str]:
        command = "pgrep -P $(systemctl show -p MainPID --value gunicorn.service)"
        return set(provisioned.sh(command, check=False).split())

    old = workers()
    assert old
    provisioned.sh("systemctl reload gunicorn")
    wait_for(lambda: workers() and not workers() & old, timeout=60)
    assert _answered(provisioned) == before
    assert client.request(LIST).status in (200, 429)
    assert _answered(provisioned) == before + 1


@pytest.mark.last
def test_redis_stopped_the_api_serves_and_readyz_reports_the_cache(provisioned, client):
    degraded_before = sample(
        scrape(provisioned), "board_degraded_requests_total", dependency="cache"
    )
    try:
        provisioned.sh("systemctl stop redis-server")
        codes = [client.request(LIST).status for _ in range(5)]
        assert codes == [200] * 5, codes
        ready = _ready(client)
        assert ready["code"] == 200, ready
        assert ready["status"] == "degraded", ready
        assert ready["checks"] == {"database": "ok", "migrations": "ok", "cache": "unavailable"}
        degraded_after = sample(
            scrape(provisioned), "board_degraded_requests_total", dependency="cache"
        )
        assert degraded_after >= degraded_before + 5
        print(f"\nRedis stopped: 5 x 200, degraded {degraded_before:.0f} -> {degraded_after:.0f}")
        journal = provisioned.sh(
            "journalctl -u gunicorn --since '-2min' --no-pager -o cat"
            " | grep -c 'throttle cache is unavailable' || true"
        )
        # At most once per worker (and interval), not once per request.
        workers = int(
            provisioned.sh(f"grep -oP '^workers = \\K[0-9]+' {APP_ROOT}/shared/gunicorn.conf.py")
        )
        assert 1 <= int(journal) <= workers, journal
    finally:
        provisioned.sh("systemctl start redis-server")
    seconds = wait_for(lambda: _ready(client).get("status") == "ready", timeout=60)
    print(f"Redis started: /readyz ready again after {seconds:.1f} s")


def _orphaned_workers(provisioned) -> list[str]:
    """Gunicorn processes that outlived their master: children of PID 1 but the master."""
    return provisioned.sh(
        "pgrep -P 1 -f -- '-m gunicorn -c' "
        '| grep -vx "$(systemctl show -p MainPID --value gunicorn.service)" || true'
    ).split()


@pytest.mark.last
def test_gunicorn_master_killed_the_api_answers_again(provisioned, client):
    pid = main_pid(provisioned, "gunicorn.service")
    assert pid > 0
    started = time.monotonic()
    provisioned.sh(f"kill -9 {pid}")
    # The orphaned workers may answer for a moment (until they see their parent gone): wait for
    # the master systemd starts anew, then for an answer from it.
    wait_for(lambda: main_pid(provisioned, "gunicorn.service") not in (0, pid), timeout=90)
    wait_for(lambda: client.request(LIST).status in (200, 429), timeout=90)
    seconds = time.monotonic() - started
    # systemd kills the dead master's workers with its control group; on the test host it cannot
    # (its nested cgroups refuse the kill), so they finish gracefully: they answer requests on
    # nginx's kept-alive connections for up to graceful_timeout, counted in the metric files of
    # the runtime directory systemd has since replaced. Wait them out: later tests read metrics.
    lingered = wait_for(lambda: not _orphaned_workers(provisioned), timeout=90)
    print(
        f"\nkill -9 of the Gunicorn master: a new master answered after {seconds:.1f} s "
        f"(the old workers were gone {lingered:.1f} s later)"
    )
    assert provisioned.sh("systemctl is-active gunicorn.socket") == "active"


@pytest.mark.last
def test_board_metrics_killed_comes_back(provisioned, client):
    client.request(LIST)  # a sample to serve, whatever ran before
    pid = main_pid(provisioned, "board-metrics.service")
    assert pid > 0
    started = time.monotonic()
    provisioned.sh(f"kill -9 {pid}")
    wait_for(lambda: main_pid(provisioned, "board-metrics.service") not in (0, pid), timeout=60)
    wait_for(lambda: answers(provisioned), timeout=60)
    seconds = time.monotonic() - started
    print(f"\nkill -9 of board-metrics: serving again after {seconds:.1f} s")
    assert "board_http_requests_total{" in scrape(provisioned)
