"""The app as installed on the server: files, processes, socket and the systemd sandbox."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time

import pytest
from support.paths import DEPLOY, REPO
from support.roles import role_default
from support.textfile_metrics import TEXTFILE_DIR, read_metrics

APP_ROOT = role_default("app", "app_root")
SOCKET = role_default("app", "app_gunicorn_socket_path")
MAX_EXPOSURE = 2.0


def _socket_get(path: str) -> str:
    """Python source of `get()`: GET `path` from Gunicorn's socket, the whole response as text."""
    return f"""
import socket
def get():
    s = socket.socket(socket.AF_UNIX)
    s.connect({SOCKET!r})
    s.sendall(b"GET {path} HTTP/1.0\\r\\nHost: board.test\\r\\n\\r\\n")
    return b"".join(iter(lambda: s.recv(65536), b"")).decode()
"""


def get_over_socket(path: str) -> str:
    """Shell command: GET `path` from Gunicorn's socket with python3 (the server has no curl)."""
    return f"python3 -c {shlex.quote(_socket_get(path) + 'print(get())')}"


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
    provisioned.sh(
        f"for i in $(seq 50); do {get_over_socket('/healthz')} | grep -q '200 OK' && exit 0; "
        "sleep 0.2; done; exit 1",
    )
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


# GET /healthz from Gunicorn's socket every 0.2 s, one status line (or error) per probe, until
# the SSH session ends.
PROBE_LOOP = (
    _socket_get("/healthz")
    + """
import time
socket.setdefaulttimeout(30)
while True:
    try:
        print(get().split("\\r\\n", 1)[0])
    except OSError as exc:
        print("error:", exc)
    time.sleep(0.2)
"""
)


def _run_site(provisioned, label: str, build_repo: str, revision: str) -> str:
    """site.yml shipping `revision` built from `build_repo`; returns the log text."""
    argv = provisioned.ansible_playbook_argv()
    argv[-1:-1] = ["-e", f"release_build_repo={build_repo}", "-e", f"release_revision={revision}"]
    log_path = provisioned.log_dir / f"release-{label}.log"
    with open(log_path, "w") as logf:
        proc = subprocess.run(
            argv,
            cwd=DEPLOY,
            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"),
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            check=False,
        )
    text = log_path.read_text(errors="replace")
    assert proc.returncode == 0, f"site.yml failed, log: {log_path}\n{text[-3000:]}"
    return text


def test_new_release_is_reloaded_without_downtime(provisioned, tmp_path):
    """site.yml asked for another revision ships it through the release path: new release dir,
    `current` switched, HUP (same main PID), every request during it answered; then the
    original revision is put back the same way."""
    source = os.environ.get("E2E_APP_BUILD_REPO", str(REPO))
    head = subprocess.run(
        ["git", "-C", source, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        pytest.fail(f"{source} has no commit to build a second release from")
    clone = tmp_path / "repo"
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
    subprocess.run([*git, "clone", "--quiet", source, str(clone)], check=True)
    with open(clone / "app" / "config" / "urls.py", "a") as f:
        f.write("# e2e: a second release\n")
    subprocess.run([*git, "-C", str(clone), "commit", "--quiet", "-am", "e2e release"], check=True)
    new_sha = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()

    old_current = provisioned.sh(f"readlink {APP_ROOT}/current")
    main_pid = provisioned.sh("systemctl show -p MainPID --value gunicorn.service")

    # Probe Gunicorn through its socket for the whole deploy: one loop on the server, in one
    # SSH session (a connection per probe would cost the playbook a share of the 2 cores).
    probe = get_over_socket("/healthz")
    prober = subprocess.Popen(
        provisioned.testbed.ssh_argv(f"python3 -u -c {shlex.quote(PROBE_LOOP)}"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    try:
        log = _run_site(provisioned, "new", str(clone), new_sha)
    finally:
        elapsed = time.monotonic() - started
        prober.terminate()
        out, err = prober.communicate(timeout=60)
    answers = [line for line in out.splitlines() if " 200 " in line]
    failures = [line for line in out.splitlines() if " 200 " not in line]
    assert "RUNNING HANDLER [release : Reload gunicorn gracefully]" in log
    assert "TASK [release : Probe the readiness of the new release" in log
    assert "TASK [release : Mark a restore point before migrating" in log
    assert "RUNNING HANDLER [app : Restart gunicorn]" not in log
    assert provisioned.sh(f"readlink {APP_ROOT}/current") == f"releases/{new_sha}"
    assert provisioned.sh("systemctl show -p MainPID --value gunicorn.service") == main_pid
    provisioned.sh(
        f"for i in $(seq 50); do {probe} | grep -q 'X-App-Revision: {new_sha}' && exit 0; "
        "sleep 0.2; done; exit 1",
    )
    print(f"\nrequests during the deploy: {len(answers)} answered, {len(failures)} failed")
    assert not failures, failures
    # The probe ran for the whole deploy (at least one answer a second), not just its start.
    assert len(answers) >= elapsed, f"{len(answers)} answers in {elapsed:.0f} s: {err}"

    # Back to the original release through deploy.yml (still installed: only `current` moves).
    back = provisioned.run_playbook(
        "reload-back",
        "deploy.yml",
        [
            "-e",
            f"release_build_repo={clone}",
            "-e",
            f"release_revision={old_current.removeprefix('releases/')}",
        ],
    )
    assert back.returncode == 0, f"deploy.yml failed, log: {back.log_path}\n{back.tail()}"
    assert provisioned.sh(f"readlink {APP_ROOT}/current") == old_current


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
