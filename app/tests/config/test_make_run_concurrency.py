"""`make run`'s server survives concurrent writes: Gunicorn with 2 workers on a loopback port and
one SQLite file, as the Makefile starts it, and 100 clients creating posts at once."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLIENTS = 100
PASSWORD = "a-long-concurrency-password-9"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def make_run_server(tmp_path):
    """The commands of `make run` (migrate, then Gunicorn --workers 2 on loopback) on a fresh
    SQLite file. The environment is `make run`'s .env (scripts/write-local-env.sh)."""
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": os.devnull,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECRET_KEY": "make-run-test-" + "k" * 40,
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_COOKIES": "False",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    subprocess.run(  # noqa: S603 - fixed argv
        [BIN / "python", "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=APP_DIR,
        env=env,
        check=True,
        timeout=300,
    )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
        + ["config.wsgi:application"],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()  # a worker stuck on a request past Gunicorn's graceful timeout
            server.wait()


def test_100_concurrent_creates_all_succeed(make_run_server):
    port = make_run_server
    user = {"username": "writer", "password": PASSWORD}
    assert _request(port, "POST", "/api/v1/auth/register/", user)[0] == 201
    status, body = _request(port, "POST", "/api/v1/auth/token/", user)
    assert status == 200, body
    token = json.loads(body)["access"]

    def create(i):
        post = {"title": f"Concurrent {i}", "content": "x", "tags": ["load", f"t{i % 7}"]}
        return _request(port, "POST", "/api/v1/posts/", post, token)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(create, range(CLIENTS)))
    elapsed = time.monotonic() - started
    failures = [(status, body[:200]) for status, body in results if status != 201]
    print(f"\n{CLIENTS} concurrent creates: {len(failures)} failed, {elapsed:.1f} s")
    assert failures == []
    status, body = _request(port, "GET", "/api/v1/posts/?page_size=100")
    assert status == 200
    assert len(json.loads(body)["results"]) == CLIENTS
