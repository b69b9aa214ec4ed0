"""board-metrics with --login-file: the real exporter process, asked over HTTP. A scrape without
the login, with a wrong one, or when the login file cannot be read is refused (401); the login
of the file is served the metrics, and a new file takes effect without a restart."""

import base64
import hashlib
import http.client
import subprocess
import sys
import time

import pytest

from tests.processes import APP_DIR, base_env, free_port


def _status(port: int, user: str | None = None, password: str = "") -> int:
    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _login_line(user: str, password: str) -> str:
    return f"{user}:{hashlib.sha256(password.encode()).hexdigest()}\n"


@pytest.fixture
def exporter(tmp_path):
    login_file = tmp_path / "login"
    login_file.write_text(_login_line("prometheus", "s3cret-scrape-password"))
    (tmp_path / "metrics").mkdir()
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "core.metrics_exporter", "--dir", str(tmp_path / "metrics")]
        + ["--address", "127.0.0.1", "--port", str(port), "--login-file", str(login_file)],
        cwd=APP_DIR,
        env=base_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            _status(port)
            break
        except OSError:
            assert time.monotonic() < deadline, "board-metrics did not listen"
            time.sleep(0.1)
    yield port, login_file
    proc.terminate()
    proc.wait(10)


def test_a_scrape_without_the_login_is_refused(exporter):
    port, _ = exporter
    assert _status(port) == 401
    assert _status(port, "prometheus", "wrong") == 401
    assert _status(port, "someone", "s3cret-scrape-password") == 401
    assert _status(port, "prometheus", "s3cret-scrape-password") == 200


def test_a_new_login_file_needs_no_restart_and_a_missing_one_refuses(exporter):
    port, login_file = exporter
    login_file.write_text(_login_line("prometheus", "another-password"))
    assert _status(port, "prometheus", "s3cret-scrape-password") == 401
    assert _status(port, "prometheus", "another-password") == 200
    login_file.unlink()
    assert _status(port, "prometheus", "another-password") == 401
