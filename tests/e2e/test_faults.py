"""Fault drills on the single test server: break each service on purpose and measure how it
heals itself or who is told. Alertmanager sends to a webhook receiver run here, on the controller
(alert_sink.py). The figures (time to recover, time to alert) are printed, not asserted tightly.

Marked `faults`: they run after the read-only tests and the release tests, and every drill puts
the service back the way it was.
"""

from __future__ import annotations

import shlex
import threading
import time

import pytest
from support.fault_load import Writer
from support.monitoring import EXPORTERS, MONITORING
from support.unit_faults import failing_start, kill_and_wait_restart

from .alert_sink import AlertSink
from .app_metrics import sample, scrape, wait_for

pytestmark = pytest.mark.faults

# Each long-running service: how to tell it serves again after a kill -9 of its main process.
CHECKS = {
    "postgresql@15-main": "pg_isready -q -h /var/run/postgresql",
    "redis-server": "test -S /run/redis/redis-server.sock",
    "nginx": "ss -Hltn 'sport = :443' | grep -q .",
    "gunicorn": "test -S /run/board/gunicorn.sock",
    **{
        unit: f"ss -Hltn 'sport = :{port}' | grep -q ."
        for unit, port in {**EXPORTERS, **MONITORING}.items()
    },
}


@pytest.fixture(scope="module")
def server(provisioned):
    return provisioned.testbed


@pytest.fixture(scope="module")
def sink(server):
    receiver = AlertSink(server.host_ip).start()
    yield receiver
    receiver.stop()


def _post_ids_present(server, ids: list[int]) -> set[int]:
    # The post model's primary key is the column post_no.
    query = f"SELECT post_no FROM post WHERE post_no IN ({','.join(map(str, ids))})"
    rows = server.sh(f"cd / && runuser -u postgres -- psql -XAt -d board -c {shlex.quote(query)}")
    return {int(line) for line in rows.splitlines() if line}


def test_watchdog_reaches_the_sink_continuously(sink):
    first = sink.wait_for("Watchdog", timeout=120)
    assert first, "no Watchdog notification within 2 minutes: the alerting path is down"
    second = sink.wait_for("Watchdog", since=first.received + 1, timeout=120)
    assert second, "the Watchdog came once and stopped"
    print(f"\nWatchdog: notifications {second.received - first.received:.0f} s apart")


def test_every_service_comes_back_after_kill_9_under_load(server, client):
    recovered: dict[str, float] = {}
    windows: list[tuple[float, float]] = []
    with Writer(client) as writer:
        time.sleep(2)  # some acknowledged writes before the first fault
        for unit in CHECKS:
            before = time.time()
            recovered[unit] = kill_and_wait_restart(server, unit, CHECKS[unit])
            # The API may fail from the kill until the service serves again (plus the request
            # in flight then).
            windows.append((before, time.time() + 2))
            time.sleep(1)
    print("\nkill -9 of the main process -> serving again (s):")
    for unit, seconds in recovered.items():
        print(f"  {unit:32s} {seconds:5.1f}")
    failed = [a for a in writer.answers if a.status != 201]
    print(
        f"writes: {len(writer.answers)} sent, {len(writer.acknowledged())} acknowledged, "
        f"{len(failed)} failed (statuses {sorted({a.status for a in failed})})"
    )
    assert all(seconds <= 15 for seconds in recovered.values()), recovered
    assert writer.errors_outside(windows) == []
    acknowledged = writer.acknowledged()
    assert acknowledged
    missing = set(acknowledged) - _post_ids_present(server, acknowledged)
    assert not missing, f"acknowledged posts lost: {sorted(missing)}"


def _gunicorn_cannot_start(server, sink, client) -> str:
    """Gunicorn restarted onto a start that fails: its restarts end at the start limit and the
    unit stays failed (not looping), so the site is down for good; SystemdUnitFailed names it and
    the probe alert comes. Repaired (drop-in gone, failed starts forgotten), the API answers and
    both alerts resolve."""
    broke = time.monotonic()
    with failing_start(server, "gunicorn.service", companions=("gunicorn.socket",)) as failed:
        unit_alert = sink.wait_for(
            "SystemdUnitFailed", since=broke, timeout=240, name="gunicorn.service"
        )
        probe_alert = sink.wait_for("ProbeFailing", since=broke, timeout=240, path="/healthz")
    repaired = time.monotonic()
    assert unit_alert, "no SystemdUnitFailed alert for gunicorn.service within 4 minutes"
    assert probe_alert, "no ProbeFailing alert within 4 minutes of Gunicorn failing"
    answered = wait_for(lambda: client.request("/healthz").status == 200, timeout=60)
    unit_resolved = sink.wait_for(
        "SystemdUnitFailed", status="resolved", since=repaired, timeout=240, name="gunicorn.service"
    )
    probe_resolved = sink.wait_for(
        "ProbeFailing", status="resolved", since=repaired, timeout=240, path="/healthz"
    )
    assert unit_resolved, "SystemdUnitFailed did not resolve within 4 minutes of the repair"
    assert probe_resolved, "ProbeFailing did not resolve within 4 minutes of the repair"
    return (
        f"Gunicorn cannot start: failed after {failed.seconds:.1f} s ({failed.restarts} restarts, "
        f"socket {failed.states['gunicorn.socket']}); "
        f"SystemdUnitFailed after {unit_alert.received - broke:.0f} s, "
        f"ProbeFailing after {probe_alert.received - broke:.0f} s; repaired: API answered after "
        f"{answered:.1f} s, resolved {unit_resolved.received - repaired:.0f} s and "
        f"{probe_resolved.received - repaired:.0f} s after the repair"
    )


BROKEN_BACKUP = "board-backup@nonsense.service"  # a backup type pgBackRest refuses


def _backup_fails(server, sink) -> str:
    """A backup that fails: the failed-unit alert names its unit."""
    failed = server.ssh(f"systemctl start {BROKEN_BACKUP}")
    broke = time.monotonic()
    try:
        assert failed.returncode != 0, "the broken backup did not fail"
        alert = sink.wait_for("SystemdUnitFailed", since=broke, timeout=240, name=BROKEN_BACKUP)
    finally:
        # A good backup records success again; the failed unit is forgotten.
        server.sh(
            f"systemctl reset-failed {BROKEN_BACKUP}; systemctl start board-backup@diff.service"
        )
    assert alert, "no SystemdUnitFailed alert within 4 minutes of the failed backup"
    return f"backup failed: alert after {alert.received - broke:.0f} s"


def _certificate_expires_in_10_days(server, sink, server_name: str) -> str:
    """The public certificate replaced by one with 10 days left (same key and name): the expiry
    alert fires; the original goes back."""
    crt = f"/etc/ssl/certs/{server_name}.crt"
    key = f"/etc/ssl/private/{server_name}.key"
    saved = "/root/fault-drill-original.crt"
    server.sh(
        f"cp -p {crt} {saved} && openssl req -x509 -new -key {key} -days 10 "
        f"-subj /CN={server_name} -addext subjectAltName=DNS:{server_name} -out {crt}.new "
        f"&& chmod --reference={crt} {crt}.new && mv {crt}.new {crt} && systemctl reload nginx"
    )
    swapped = time.monotonic()
    try:
        alert = sink.wait_for("CertificateExpiringSoon", since=swapped, timeout=240)
    finally:
        server.sh(f"cp -p {saved} {crt} && rm -f {saved} && systemctl reload nginx")
    assert alert, "no CertificateExpiringSoon alert within 4 minutes of a 10-day certificate"
    return f"certificate with 10 days left: alert after {alert.received - swapped:.0f} s"


def test_faults_that_persist_are_announced(server, sink, client, provisioned):
    """Three independent drills at once (they break different things), each timed from its own
    fault to its own alert: Gunicorn down for good (it cannot start), a failed backup, a
    certificate near its expiry. Redis's drill runs alone (next test): RedisDown inhibits the
    Gunicorn and backup drills' alerts."""
    drills = {
        "gunicorn": lambda: _gunicorn_cannot_start(server, sink, client),
        "backup": lambda: _backup_fails(server, sink),
        "certificate": lambda: _certificate_expires_in_10_days(
            server, sink, provisioned.server_name
        ),
    }
    results: dict[str, str] = {}

    def run(name, drill):
        try:
            results[name] = drill()
        except BaseException as exc:  # reported below, with the others' figures
            results[name] = f"FAILED: {exc}"

    threads = [threading.Thread(target=run, args=item) for item in drills.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("\n" + "\n".join(results[name] for name in drills))
    assert not [r for r in results.values() if r.startswith("FAILED")], results


def test_redis_stopped_the_api_answers_and_the_alert_fires_then_resolves(server, sink, client):
    """Redis stopped (a minute at least, until its alert comes) under a light write load: the
    throttle fails open, so every write still succeeds; RedisDown reaches the sink, and its
    resolved notification follows Redis's start."""

    def degraded() -> float:
        return sample(scrape(server), "board_degraded_requests_total", dependency="cache")

    degraded_before = degraded()
    with Writer(client, interval=0.5) as writer:
        time.sleep(1)  # some writes with Redis up
        stopped = time.monotonic()
        server.sh("systemctl stop redis-server")
        try:
            alert = sink.wait_for("RedisDown", since=stopped, timeout=240)
            time.sleep(max(0.0, stopped + 60 - time.monotonic()))
        finally:
            server.sh("systemctl start redis-server")
        started = time.monotonic()
        time.sleep(1)  # some writes with Redis back
    failed = [a for a in writer.answers if not 200 <= a.status < 300]
    print(
        f"\nRedis stopped {started - stopped:.0f} s: {len(writer.answers)} writes answered, "
        f"{len(failed)} not 2xx (statuses {sorted({a.status for a in failed})}); "
        f"degraded requests counted {degraded() - degraded_before:.0f}"
    )
    assert alert, "no RedisDown alert within 4 minutes of stopping Redis"
    resolved = sink.wait_for("RedisDown", status="resolved", since=started, timeout=120)
    print(
        f"RedisDown: alert after {alert.received - stopped:.0f} s, "
        + (f"resolved {resolved.received - started:.0f} s after the start" if resolved else "")
    )
    assert resolved, "RedisDown did not resolve within 2 minutes of starting Redis"
    assert writer.answers and not failed, failed[:5]
    assert degraded() > degraded_before, "no request counted as served without the cache"
