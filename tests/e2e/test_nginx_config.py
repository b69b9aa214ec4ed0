"""The nginx configuration the role renders, checked on the provisioned server.

- gixy-ng reads the server's complete configuration (`nginx -T`: nginx.conf and every file it
  includes, as nginx itself loaded them) and finds nothing of medium severity or higher.
- The http level is the role's own: no version on any server, no TLS 1.0/1.1, enough descriptors.
- Forwarding headers a client makes up never reach Gunicorn: for the duration of one test,
  Gunicorn (the real one, serving the real app behind the real nginx) logs the headers it received.
- The admin login is rate limited by nginx while the API keeps serving.
- nginx keeps no connection to Gunicorn open between requests (nginx/board.conf.j2 says why).
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest
from support.roles import role_var
from support.throttle import GUNICORN_SOCKET
from support.tools import venv_tool

SEVERITIES = ["UNSPECIFIED", "LOW", "MEDIUM", "HIGH"]


@pytest.fixture(scope="module")
def nginx_dump(provisioned) -> str:
    """`nginx -T` on the server: the whole configuration nginx loads, file by file."""
    proc = provisioned.testbed.ssh("nginx -T 2>/dev/null", check=True)
    assert "# configuration file /etc/nginx/nginx.conf:" in proc.stdout, proc.stdout[:500]
    return proc.stdout


def dump_file(dump: str, path: str) -> str:
    """One file's text out of an `nginx -T` dump."""
    marker = f"# configuration file {path}:\n"
    assert marker in dump, f"{path} is not part of the loaded configuration"
    text = dump.split(marker, 1)[1]
    return text.split("\n# configuration file ", 1)[0]


def directives(text: str, name: str) -> list[str]:
    """Arguments of every `name ...;` directive in text (comments dropped)."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return [m.group(1).strip() for m in re.finditer(rf"(?:^|[;{{}}\s]){name}\s+([^;]*);", code)]


def test_gixy_finds_nothing_of_medium_severity_or_higher(nginx_dump, tmp_path):
    report = tmp_path / "gixy.json"
    # The dump on stdin: gixy-ng splits it into its files and follows nothing on this machine.
    proc = subprocess.run(
        [venv_tool("gixy"), "--format", "json", "--output", str(report), "-"],
        input=nginx_dump,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.exists(), f"gixy wrote no report (rc={proc.returncode}):\n{proc.stderr}"
    findings = json.loads(report.read_text() or "[]")
    print(f"\ngixy-ng on `nginx -T` of the server: {len(findings)} finding(s)")
    for f in findings:
        where = f"{f.get('file')}:{f.get('line')}"
        print(f"  {f.get('severity')} {f.get('plugin')}: {f.get('summary')} ({where})")
    serious = [
        f
        for f in findings
        if SEVERITIES.index(str(f.get("severity", "HIGH")).upper()) >= SEVERITIES.index("MEDIUM")
    ]
    assert serious == [], json.dumps(serious, indent=2)
    # gixy really read the site, not an empty or partial configuration.
    assert "server_name board.test;" in nginx_dump


def test_the_role_owns_nginx_conf(nginx_dump):
    main = dump_file(nginx_dump, "/etc/nginx/nginx.conf")
    assert "Ansible managed" in main
    assert directives(main, "server_tokens") == ["off"]
    (connections,) = directives(main, "worker_connections")
    (rlimit,) = directives(main, "worker_rlimit_nofile")
    assert int(rlimit) >= 2 * int(connections), (rlimit, connections)
    # Anywhere in the loaded configuration: no TLS 1.0/1.1, no server cipher preference.
    for protocols in directives(nginx_dump, "ssl_protocols"):
        assert set(protocols.split()) <= {"TLSv1.2", "TLSv1.3"}, protocols
    assert "on" not in directives(nginx_dump, "ssl_prefer_server_ciphers")
    # Mozilla's key exchange groups, set explicitly (not left to the OpenSSL build's defaults)
    # for every TLS server and at the http level.
    site = dump_file(nginx_dump, "/etc/nginx/sites-enabled/board.conf")
    assert directives(site, "ssl_ecdh_curve") == ["X25519:prime256v1:secp384r1"] * len(
        directives(site, "ssl_protocols")
    )
    assert directives(main, "ssl_ecdh_curve") == ["X25519:prime256v1:secp384r1"]
    # Nothing from the distribution's defaults is loaded besides the module and MIME type files.
    loaded = re.findall(r"^# configuration file (\S+):$", nginx_dump, re.M)
    unexpected = [
        path
        for path in loaded
        if not path.startswith("/etc/nginx/modules-enabled/")
        and path
        not in {
            "/etc/nginx/nginx.conf",
            "/etc/nginx/mime.types",
            "/etc/nginx/sites-enabled/board.conf",
            # stub_status on loopback for the nginx exporter, a server of its own.
            f"/etc/nginx/sites-enabled/{role_var('nginx', 'nginx_stub_status_site')}",
        }
        and not path.startswith("/usr/share/nginx/modules-available/")
    ]
    assert unexpected == [], loaded


def test_catch_all_error_pages_carry_no_version(provisioned):
    """A request without Host gets nginx's own 400 page from the catch-all server: no version."""
    with socket.create_connection((provisioned.testbed.ip, 80), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    text = answer.decode(errors="replace")
    assert text.startswith("HTTP/1.1 400"), text[:300]
    assert re.search(r"^Server: nginx\r$", text, re.M), text[:300]
    assert "nginx/" not in text, text


# --- Forwarding headers: what Gunicorn receives ---------------------------------------------------

# Every header a client could send to pass as a proxy, with the value it would like to see trusted.
SPOOFED = {
    "Forwarded": "for=203.0.113.9;host=evil.example;proto=http",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/evil",
    "X-Forwarded-Protocol": "ssl",
    "X-Forwarded-Ssl": "on",
    "X-Real-IP": "203.0.113.9",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "http",
}
GUNICORN_DROP_IN = "/etc/systemd/system/gunicorn.service.d/zz-e2e-log-forwarding-headers.conf"


def _access_log_format() -> str:
    # Gunicorn's access log atoms for request headers (a missing one logs as "-"); no spaces, so
    # that GUNICORN_CMD_ARGS needs no quoting. `%` doubled for systemd.
    fields = ["x-request-id", *(name.lower() for name in SPOOFED)]
    return "e2e-headers|" + "|".join(f"{name}=%%({{{name}}}i)s" for name in fields)


@pytest.fixture
def gunicorn_logs_forwarding_headers(provisioned):
    """Gunicorn logs the forwarding headers it receives, until the test ends.

    A systemd drop-in sets GUNICORN_CMD_ARGS (which overrides the config file's access log
    format); the app, its settings and nginx are untouched. Removed again afterwards.
    """
    tb = provisioned.testbed
    # Gunicorn keeps no access log of its own (the app logs each request): turned on here.
    drop_in = (
        '[Service]\nEnvironment="GUNICORN_CMD_ARGS=--access-logfile=- '
        f'--access-logformat={_access_log_format()}"\n'
    )
    tb.ssh(
        f"install -d -m 0755 {Path(GUNICORN_DROP_IN).parent} && cat > {GUNICORN_DROP_IN}",
        input=drop_in,
        check=True,
    )
    try:
        tb.ssh("systemctl daemon-reload && systemctl restart gunicorn.service", check=True)
        yield tb
    finally:
        tb.ssh(
            f"rm -f {GUNICORN_DROP_IN} && rmdir --ignore-fail-on-non-empty "
            f"{Path(GUNICORN_DROP_IN).parent} && systemctl daemon-reload "
            "&& systemctl restart gunicorn.service",
            check=True,
        )


def _gunicorn_log_line(tb, request_id: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        lines = tb.ssh(
            "journalctl -u gunicorn.service --since '-5min' -o cat --no-pager | grep -F "
            f"'e2e-headers|x-request-id={request_id}|' || true"
        ).stdout.splitlines()
        if lines or time.monotonic() > deadline:
            assert len(lines) == 1, f"Gunicorn logged {len(lines)} lines for {request_id}"
            return lines[0]
        time.sleep(1)


def test_spoofed_forwarding_headers_do_not_reach_gunicorn(client, gunicorn_logs_forwarding_headers):
    tb = gunicorn_logs_forwarding_headers
    request_id = f"e2e-spoof-{secrets.token_hex(6)}"
    resp = client.request("/healthz", headers={**SPOOFED, "X-Request-ID": request_id})
    assert resp.status == 200, resp
    line = _gunicorn_log_line(tb, request_id)
    print(f"\nGunicorn received: {line}")
    received = dict(field.split("=", 1) for field in line.split("|")[1:])
    # Cleared by nginx: Gunicorn logs "-" for a header it did not get.
    for name in (
        "forwarded",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-forwarded-protocol",
        "x-forwarded-ssl",
        "x-real-ip",
    ):
        assert received[name] == "-", f"{name} reached Gunicorn: {received[name]!r}"
    # Replaced by nginx with what it saw itself: the client's address and the real scheme.
    assert received["x-forwarded-for"] == tb.host_ip, received
    assert received["x-forwarded-proto"] == "https", received


# --- The admin login is rate limited ------------------------------------------------------------


def test_admin_login_is_rate_limited_while_the_api_keeps_serving(client, admin_url):
    login = f"/{admin_url}login/"
    page = client.request(login)
    assert page.status == 200 and 'name="password"' in page.body, (login, page.status)

    n = 40
    argv = client.burst_argv(n)
    for i in range(n):
        argv += [
            "--data",
            f"username=admin&password=guess-{i}",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code} %{content_type}\\n",
            f"https://{client.server_name}{login}",
        ]
    # A password-guessing burst on the admin login ...
    hammer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # ... while a normal client uses the API.
    api = [client.request("/api/v1/posts/") for _ in range(5)]
    out, err = hammer.communicate(timeout=120)
    api.append(client.request("/api/v1/posts/"))

    results = [line.split(" ", 1) for line in out.splitlines() if line.strip()]
    assert len(results) == n, out + err
    limited = [r for r in results if r[0] in ("429", "503")]
    reached_app = [r for r in results if r[0] not in ("429", "503")]
    print(
        f"\nadmin login burst of {n}: {len(limited)} x {sorted({r[0] for r in limited})} "
        f"from nginx, {len(reached_app)} reached the app; API answers: {[r.status for r in api]}"
    )
    assert limited, results
    # nginx's own refusals are JSON, like the app's errors.
    assert all("application/json" in r[1] for r in limited), limited
    # nginx lets at most the burst (5) and the rate (1/s) through, never the whole wave.
    assert len(reached_app) <= n // 2, results
    assert [r.status for r in api] == [200] * len(api), [(r.status, r.body[:200]) for r in api]


# --- One request id across nginx's and the app's JSON logs ----------------------------------------


def _json_log_lines(tb, command: str, request_id: str, timeout: float = 20) -> list[dict]:
    """The JSON lines `command` prints that carry `request_id` (waits for them to be written)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = tb.ssh(f"{command} | grep -F '\"{request_id}\"' || true").stdout.splitlines()
        if lines or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(1)


NGINX_LOG = "tail -n 2000 /var/log/nginx/access.log"
APP_LOG = "journalctl -u gunicorn.service --since '-5min' -o cat --no-pager"


@pytest.mark.parametrize("chosen", [True, False], ids=["client-id", "generated-id"])
def test_one_request_id_in_nginx_and_app_json_logs(provisioned, client, chosen):
    tb = provisioned.testbed
    headers = {"X-Request-ID": f"e2e-trace-{secrets.token_hex(6)}"} if chosen else {}
    resp = client.request("/api/v1/posts/?token=e2e-query-secret", headers=headers)
    assert resp.status == 200, resp
    request_id = resp.header("X-Request-ID")
    if chosen:
        assert request_id == headers["X-Request-ID"]
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id or ""), request_id
    (access,) = _json_log_lines(tb, NGINX_LOG, request_id)
    (app,) = _json_log_lines(tb, APP_LOG, request_id)
    print(f"\nnginx: {json.dumps(access)}\napp:   {json.dumps(app)}")
    assert (access["status"], access["method"], access["path"]) == (200, "GET", "/api/v1/posts/")
    assert (app["status"], app["method"], app["path"]) == (200, "GET", "/api/v1/posts/")
    assert app["logger"] == "board.request" and app["level"] == "INFO"
    # Query strings may carry tokens: neither log keeps them.
    assert "e2e-query-secret" not in json.dumps([access, app])


def test_nginx_keeps_no_connection_to_gunicorn_between_requests(provisioned, client):
    # A kept-alive one would let an old worker answer with the old release after a reload.
    for _ in range(10):
        assert client.request("/healthz").status == 200
    # Gunicorn's end of each accepted connection is named after the socket; idle, Gunicorn would
    # keep one for its keepalive (5 s), longer than this takes.
    held = provisioned.sh(
        f"ss -xH state established | grep -F {shlex.quote(GUNICORN_SOCKET)} || true"
    )
    assert held == "", held
