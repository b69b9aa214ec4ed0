"""The app as installed on the server: files, processes, socket and the systemd sandbox."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from support.roles import role_default
from support.textfile_metrics import TEXTFILE_DIR, read_metrics

from .app_socket import SOCKET, get_over_socket, until_socket_answers

APP_ROOT = role_default("app", "app_root")
MAX_EXPOSURE = 2.0


def test_env_file_is_root_only(provisioned):
    assert provisioned.sh(f"stat -c '%a %U %G' {APP_ROOT}/shared/.env") == "600 root root"
    # The app user itself cannot read it (systemd reads it as root).
    proc = provisioned.testbed.ssh(f"runuser -u board -- cat {APP_ROOT}/shared/.env")
    assert proc.returncode != 0


def test_release_layout(provisioned):
    current = provisioned.sh(f"readlink {APP_ROOT}/current")
    assert re.fullmatch(r"releases/[0-9a-f]{40}", current), current
    sha = current.rsplit("/", 1)[1]
    assert provisioned.sh(f"cat {APP_ROOT}/current/REVISION") == sha
    # The running code says which release it is.
    health = provisioned.sh(get_over_socket("/healthz"))
    assert f"X-App-Revision: {sha}" in health
    # Static files: written by the app user, readable by nginx's group only.
    assert provisioned.sh(f"stat -c '%a %U %G' {APP_ROOT}/shared/static") == "2750 board www-data"
    provisioned.sh(f"runuser -u www-data -- test -r {APP_ROOT}/shared/static/admin/css/base.css")


def test_gunicorn_runs_as_board(provisioned):
    assert (
        provisioned.sh("systemctl is-active gunicorn.service gunicorn.socket") == "active\nactive"
    )
    assert provisioned.sh("systemctl show -p Type --value gunicorn.service") == "notify"
    main_pid = provisioned.sh("systemctl show -p MainPID --value gunicorn.service")
    assert main_pid != "0"
    users = provisioned.sh(f"ps -o user= -p {main_pid} --ppid {main_pid}").split()
    assert len(users) >= 2, users  # the arbiter and at least one worker
    assert set(users) == {"board"}, users


def test_socket_is_reachable_by_nginx_only(provisioned):
    assert provisioned.sh(f"stat -c '%a %U %G %F' {SOCKET}") == "660 root www-data socket"
    connect = (
        "python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); "
        f's.connect("{SOCKET}"); print("connected")\''
    )
    assert provisioned.sh(f"runuser -u www-data -- {connect}") == "connected"
    denied = provisioned.testbed.ssh(f"runuser -u nobody -- {connect}")
    assert denied.returncode != 0
    assert "PermissionError" in denied.stderr


def test_reload_replaces_workers_and_keeps_serving(provisioned):
    main_pid = provisioned.sh("systemctl show -p MainPID --value gunicorn.service")
    workers_before = set(provisioned.sh(f"pgrep -P {main_pid}").split())
    provisioned.sh("systemctl reload gunicorn.service")
    provisioned.sh(until_socket_answers("200 OK"))
    assert provisioned.sh("systemctl show -p MainPID --value gunicorn.service") == main_pid
    # Wait for the old workers to be gone.
    provisioned.sh(
        f'for i in $(seq 50); do [ -z "$(comm -12 <(pgrep -P {main_pid} | sort) '
        f"<(printf '%s\\n' {' '.join(sorted(workers_before))} | sort))\" ] && exit 0; sleep 0.2; "
        "done; exit 1",
    )


@pytest.mark.parametrize("unit", ["gunicorn.service", "board-metrics.service"])
def test_systemd_security_exposure(provisioned, unit):
    out = provisioned.sh(f"systemd-analyze security --no-pager {unit}", check=False)
    match = re.search(rf"Overall exposure level for {re.escape(unit)}:\s*([0-9.]+)\s*(\S+)", out)
    assert match, out
    exposure = float(match.group(1))
    print(f"\nsystemd-analyze security {unit}: exposure {exposure} {match.group(2)}")
    print("\n".join(line for line in out.splitlines() if line.startswith("✗")))
    assert exposure <= MAX_EXPOSURE, out


@pytest.mark.parametrize(
    "setting, expected",
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("User", "board"),
        ("UMask", "0027"),
    ],
)
def test_unit_sandbox_settings(provisioned, setting, expected):
    assert provisioned.sh(f"systemctl show -p {setting} --value gunicorn.service") == expected


def test_no_ansible_temporary_directory_warning(provisioned):
    """Every step that runs as another user found a temporary directory it can use."""
    assert "Unable to use" not in provisioned.first_run.stdout
    assert "as temporary directory" not in provisioned.first_run.stdout


def test_facts_are_gathered_once_per_host_and_run(provisioned):
    """site.yml's release play reuses the facts its provision play gathered (gathering = smart
    in ansible.cfg) instead of asking the host again."""
    assert provisioned.first_run.stdout.count("TASK [Gathering Facts]") == 1


def test_the_deploy_and_the_certificates_left_their_results_for_the_node_exporter(provisioned):
    assert provisioned.sh(f"stat -c '%a %U' {TEXTFILE_DIR}") == "755 root"
    now = float(provisioned.sh("date +%s"))
    deploy = read_metrics(provisioned, "board_deploy.prom")
    labels, outcome = deploy["board_deploy_last_outcome"]
    assert outcome == 1
    assert labels["revision"] == provisioned.sh(f"readlink {APP_ROOT}/current").rsplit("/", 1)[1]
    assert now - 3600 < deploy["board_deploy_last_timestamp_seconds"][1] <= now
    # The first provisioning made (renewed) the site's certificate. (One server: PostgreSQL has
    # no TLS; tests/e2e_multihost checks the database server's.)
    metrics = read_metrics(
        provisioned, "board_certificate_renewal_certificate__board_test__run.prom"
    )
    assert metrics["board_certificate_renewal_last_outcome"] == ({"certificate": "board.test"}, 1)
    assert metrics["board_certificate_renewal_last_timestamp_seconds"][1] <= now


def test_the_app_logs_json_lines_and_gunicorn_no_second_access_line(provisioned, client):
    request_id = f"e2e-applog-{os.urandom(6).hex()}"
    assert client.request("/api/v1/posts/", headers={"X-Request-ID": request_id}).status == 200
    time.sleep(1)
    lines = provisioned.sh(
        f"journalctl -u gunicorn.service --since '-5min' -o cat --no-pager | grep -F {request_id}"
    ).splitlines()
    # One line per request in the journal: the app's JSON line, no Gunicorn access log line.
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert (entry["logger"], entry["request_id"], entry["status"]) == (
        "board.request",
        request_id,
        200,
    )


def test_journald_keeps_a_busy_servers_lines(provisioned):
    config = provisioned.sh("systemd-analyze cat-config systemd/journald.conf")
    burst = role_default("base", "base_journald_rate_limit_burst")
    assert f"RateLimitBurst={burst}" in config
