"""Prometheus, Alertmanager and the exporters on the single test server: what they scrape,
where they listen, what they may read, and that every long-running service restarts itself."""

from __future__ import annotations

import http.client
import re
import urllib.request

import pytest
from support.monitoring import (
    ALERTMANAGER,
    EXPORTERS,
    MONITORING,
    api,
    http_status,
    loaded_rules,
    query,
    wait_until,
)
from support.roles import role_default

from .app_metrics import METRICS_URL, answers
from .tunnel import ssh_tunnel

APP_GROUP = role_default("app", "app_group")

# The exporters that take the exporter toolkit's web config, so require the scrape login.
LOGIN_REQUIRED = (
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
    "prometheus-blackbox-exporter",
)
REPO_RULES = (
    "TargetDown",
    "ProbeFailing",
    "PostgresDown",
    "RedisDown",
    "SystemdUnitFailed",
    "CertificateExpiringSoon",
    "BackupTooOld",
    "DiskFilling",
    "Watchdog",
)
# Long-running services and the Restart= each must have after provisioning.
RESTARTING = {
    "postgresql@15-main": "on-failure",
    "nginx": "on-failure",
    "redis-server": "always",
    **{unit: "on-failure" for unit in (*EXPORTERS, *MONITORING)},
}


@pytest.fixture(scope="module")
def server(provisioned):
    return provisioned.testbed


def test_prometheus_scrapes_every_exporter_and_probe(server):
    def up_jobs():
        return {(r["metric"]["job"], r["value"][1]) for r in query(server, "up")}

    expected = {
        "node",
        "postgres",
        "redis",
        "nginx",
        "prometheus",
        "alertmanager",
        "blackbox",
        "probe",
    }
    jobs = wait_until(
        lambda: (j := up_jobs()) and {job for job, v in j if v == "1"} >= expected and j,
        timeout=90,
        what="every target up",
    )
    # The app's metrics (board-metrics.service) are scraped too, as job "board".
    assert "board" in {job for job, _ in jobs}
    probed = query(server, 'probe_success{job="probe"}')
    probes = {r["metric"]["path"]: r["value"][1] for r in probed}
    assert probes == {"/healthz": "1", "/readyz": "1"}, probes
    days = float(query(server, "(probe_ssl_earliest_cert_expiry - time()) / 86400")[0]["value"][1])
    print(f"\nthe public certificate expires in {days:.0f} days (seen by the blackbox probe)")
    assert days > 14
    # The exporters' least-privilege logins can read what the rules need.
    assert query(server, "pg_up")[0]["value"][1] == "1"
    assert query(server, 'pg_role_connections_conn_limit{role="board_app"}')
    assert query(server, "redis_up")[0]["value"][1] == "1"
    assert query(server, "nginx_up")[0]["value"][1] == "1"
    assert query(server, 'node_systemd_unit_state{name="nginx.service", state="active"}')
    assert query(server, "board_reboot_required")


def test_the_repository_rules_are_loaded(server):
    names = {rule["name"] for rule in loaded_rules(server)}
    assert set(REPO_RULES) <= names, sorted(names)
    status = api(server, ALERTMANAGER, "/api/v2/status")
    assert "webhook_configs" in status["config"]["original"]


def test_monitoring_listens_on_loopback_only(server):
    listening = server.sh("ss -Hltn")
    for unit, port in {**EXPORTERS, **MONITORING}.items():
        addresses = set(re.findall(rf"(\S+):{port}\s", listening))
        assert addresses == {"127.0.0.1"}, (unit, port, addresses)


def test_every_long_running_service_restarts_itself_with_a_limit(server):
    for unit, restart in RESTARTING.items():
        props = dict(
            line.split("=", 1)
            for line in server.sh(
                f"systemctl show -p Restart,RestartUSec,StartLimitBurst,ActiveState {unit}"
            ).splitlines()
        )
        assert props["ActiveState"] == "active", (unit, props)
        assert props["Restart"] == restart, (unit, props)
        assert props["RestartUSec"] == "2s", (unit, props)
        assert props["StartLimitBurst"] == "5", (unit, props)


def test_exporter_secrets_stay_in_root_only_files(provisioned, server):
    password = provisioned.secrets["vault_redis_exporter_password"]
    for unit in ("prometheus-redis-exporter", "prometheus-postgres-exporter"):
        assert server.sh(f"stat -c '%U %a' /etc/default/{unit}") == "root 600"
    # Never on a command line.
    assert password not in server.sh("ps -eo args")
    # PostgreSQL: a pg_monitor member without a password, peer over the socket only.
    row = server.sh(
        'runuser -u postgres -- psql -XAtc "SELECT rolsuper, rolpassword IS NULL, '
        "(SELECT string_agg(b.rolname, ',') FROM pg_auth_members m JOIN pg_roles b "
        "ON b.oid = m.roleid WHERE m.member = a.oid) "
        "FROM pg_authid a WHERE rolname = 'prometheus'\""
    )
    assert row == "f|t|pg_monitor", row


def test_exporters_refuse_a_scrape_without_the_login(provisioned, server):
    # Prometheus scrapes them with the login: test_prometheus_scrapes_every_exporter_and_probe.
    for unit in LOGIN_REQUIRED:
        assert http_status(server, f"http://127.0.0.1:{EXPORTERS[unit]}/metrics") == 401, unit
    # The app's metrics too (board-metrics); with the login they are served (app_metrics.scrape).
    assert http_status(server, METRICS_URL) == 401
    assert answers(provisioned)
    # It holds the login's SHA-256, readable by root and the app's group only.
    login_file = role_default("app", "app_metrics_login_file")
    assert server.sh(f"stat -c '%U:%G %a' {login_file}") == f"root:{APP_GROUP} 640"
    # The exporters hold its bcrypt hash, Prometheus its password: files only they and root read.
    files = "/etc/prometheus/exporters-web.yml /etc/prometheus/scrape-password"
    assert server.sh(f"stat -c '%U:%G %a' {files}").splitlines() == ["root:prometheus 640"] * 2
    password = provisioned.secrets["vault_exporters_scrape_password"]
    assert password not in server.sh(f"cat /etc/prometheus/exporters-web.yml {login_file}")
    assert password not in server.sh("ps -eo args")


def test_the_overview_console_opens_through_an_ssh_tunnel_to_nothing_else(server):
    # As the README tells an operator: ssh -L to Prometheus on the monitoring server's loopback.
    with ssh_tunnel(server, MONITORING["prometheus"]) as port:
        url = f"http://127.0.0.1:{port}/consoles/board.html"
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert "<h1>Board overview</h1>" in response.read().decode()
    # sshd forwards to the monitoring UIs alone: an exporter's port stays closed to a tunnel.
    node_exporter = EXPORTERS["prometheus-node-exporter"]
    refused = (OSError, http.client.HTTPException)
    with ssh_tunnel(server, node_exporter) as port, pytest.raises(refused):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30)
