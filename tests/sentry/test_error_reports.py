"""A forced exception in the app reaches a real Sentry-protocol server (Bugsink) with the
release and the request id, and without any secret the request carried."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .bugsink import REPO, Bugsink, free_port, wait_for_port

SECRETS = {
    "authorization": "Bearer tok-" + secrets.token_hex(8),
    "password": "pw-" + secrets.token_hex(8),
    "cookie": "ck-" + secrets.token_hex(8),
    "query": "qs-" + secrets.token_hex(8),
}


@pytest.fixture(scope="module")
def bugsink(tmp_path_factory):
    server = Bugsink(tmp_path_factory.mktemp("bugsink"))
    dsn = server.start()
    yield server, dsn
    server.stop()


@pytest.fixture(scope="module")
def app(bugsink, tmp_path_factory):
    """The app under Gunicorn (as in production) with the DSN, a release and /boom."""
    _, dsn = bugsink
    workdir = tmp_path_factory.mktemp("app")
    port = free_port()
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        **os.environ,
        "ENV_FILE": os.devnull,
        "PYTHONPATH": f"{REPO / 'app'}:{Path(__file__).parent}",
        "DJANGO_SETTINGS_MODULE": "boom.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "SENTRY_DSN": dsn,
        "SENTRY_ENVIRONMENT": "error-report-test",
        "APP_REVISION": revision,
    }
    log = workdir / "gunicorn.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "config.wsgi:application"],
            cwd=REPO / "app", env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}", revision, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_forced_exception_arrives_with_release_and_request_id_and_no_secret(bugsink, app):
    server, _ = bugsink
    url, revision, log = app
    request_id = "err-" + secrets.token_hex(6)
    request = urllib.request.Request(
        f"{url}/boom?token={SECRETS['query']}",
        data=json.dumps({"username": "alice", "password": SECRETS["password"]}).encode(),
        headers={
            "Authorization": SECRETS["authorization"],
            "Cookie": f"sessionid={SECRETS['cookie']}",
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
        },
        method="POST",
    )
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 (loopback)
    assert answer.value.code == 500

    events = []
    deadline = time.monotonic() + 60
    while not events and time.monotonic() < deadline:
        time.sleep(0.5)
        events = server.events()
    print(f"error report stored by Bugsink {time.monotonic() - started:.1f} s after the request")
    assert len(events) == 1, log.read_text()
    (event,) = events

    assert event["release"] == revision
    assert event["environment"] == "error-report-test"
    tags = event["tags"] if isinstance(event["tags"], dict) else dict(event["tags"])
    assert tags["request_id"] == request_id
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "ForcedFailure"
    assert exception["stacktrace"]["frames"][-1]["function"] == "boom"
    stored = json.dumps(event)
    for name, value in SECRETS.items():
        assert value not in stored, f"the {name} secret reached the error report"
    assert "tok-" not in stored and "sessionid" not in stored
