"""Fixtures of the container tests: stand-in base images, and the images the Dockerfile builds.

Run by `make test-containers` (root, or podman set up for the user). podman reads
tests/containers/containers.conf (CONTAINERS_CONF); every image, container, network and volume
these tests make is named with the `boardctr` prefix and removed again (images stay cached).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from support.paths import REPO

from .podman import PREFIX, build_standins, ensure_tools, podman
from .stack import COMPOSE, SERVER_NAME, Stack, free_port

# The CA bundle pip trusts on this machine, handed to the image build (the Dockerfile reads the
# optional `pip-ca` build secret) for networks whose TLS is intercepted.
PIP_CA = os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")


def _revision() -> str:
    r = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return r.stdout.strip() if r.returncode == 0 else "unknown"


@pytest.fixture(scope="session")
def standins():
    if os.geteuid() != 0:
        pytest.fail("the container tests need root (podman storage, networks, port publishing)")
    ensure_tools()
    return build_standins()


@pytest.fixture(scope="session")
def revision() -> str:
    return _revision()


def build_image(service: str, revision: str) -> str:
    """Build a compose service's image as `docker compose build` would (its target and args)."""
    spec = COMPOSE["services"][service]
    build = spec["build"]
    tag = spec["image"].replace("${BOARD_REVISION:-unknown}", revision)
    args = {k: str(v) for k, v in (build.get("args") or {}).items()}
    args["REVISION"] = revision
    args["SERVER_NAME"] = "localhost"
    argv = ["build", "--isolation=chroot", "--pull=never", "--format=docker"]
    argv += ["--target", build["target"], "-t", tag]
    for key, value in args.items():
        argv += ["--build-arg", f"{key}={value}"]
    if Path(PIP_CA).is_file():
        argv += ["--secret", f"id=pip-ca,src={PIP_CA}"]
    argv.append(str(REPO / build["context"]))
    started = time.monotonic()
    podman(*argv)  # its output is in the error when it fails
    print(f"\n{tag} built in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return tag


@pytest.fixture(scope="session")
def app_image(standins, revision):
    tag = build_image("app", revision)
    yield tag
    # Only the tag goes: the build's cached layers stay for the next run.
    podman("rmi", tag, check=False)


@pytest.fixture(scope="session")
def nginx_image(standins, revision, app_image):
    tag = build_image("nginx", revision)
    yield tag
    podman("rmi", tag, check=False)


@pytest.fixture(scope="session")
def stack(app_image, nginx_image, revision):
    """The whole stack, up once for the session (the backup and stack modules share it); the
    stack module's last test tears it down and checks that nothing is left."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-"))
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "BOARD_DB_OWNER_PASSWORD": secrets.token_hex(24),
        "BOARD_DB_RUNTIME_PASSWORD": secrets.token_hex(24),
        "REDIS_PASSWORD": secrets.token_hex(24),
    }
    https_port = free_port()
    env_file = workdir / "env"
    env_file.touch(mode=0o600)
    env_file.write_text(
        "".join(f"{k}={v}\n" for k, v in values.items())
        + f"BOARD_REVISION={revision}\nBOARD_SERVER_NAME={SERVER_NAME}\n"
        + f"BOARD_BIND_ADDRESS=127.0.0.1\nBOARD_HTTP_PORT={free_port()}\n"
        + f"BOARD_HTTPS_PORT={https_port}\n"
    )
    s = Stack(env_file, values, https_port)
    s.compose("down", "--volumes", check=False)  # leftovers of an interrupted run
    started = time.monotonic()
    try:
        # Started one service at a time, in the order docker-compose.yml's depends_on gives:
        # podman 4.3 ignores `condition: service_healthy` (podman-compose says so) and cannot
        # start a container whose --requires chain is two deep, so the test enforces each
        # condition itself (health checks run by hand: podman runs them from systemd timers).
        s.compose("up", "--detach", "--no-build", "db")
        s.wait_healthy("db")
        s.compose("up", "--detach", "--no-build", "redis")
        s.wait_healthy("redis")
        s.compose("up", "--detach", "--no-build", "--no-deps", "migrate")
        podman("wait", s.container("migrate"))
        s.compose("up", "--detach", "--no-build", "--no-deps", "app")
        s.wait_healthy("app")
        s.compose("up", "--detach", "--no-build", "--no-deps", "nginx")
        s.wait_healthy("nginx")
        print(f"\nstack up in {time.monotonic() - started:.0f}s", file=sys.stderr)
        yield s
    finally:
        s.compose("down", "--volumes", check=False)
        env_file.unlink(missing_ok=True)
        workdir.rmdir()


@pytest.fixture(scope="session")
def https(stack):
    """HTTPS to the published nginx port, trusting the certificate nginx made at first start."""
    cert = podman("exec", stack.container("nginx"), "cat", "/etc/nginx/tls/board.crt").stdout
    context = ssl.create_default_context(cadata=cert)

    def request(method, path, body=None, token=None):
        conn = http.client.HTTPSConnection(
            SERVER_NAME, stack.https_port, context=context, timeout=15
        )
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r, (
            json.loads(data)
            if data and r.getheader("Content-Type", "").startswith("application/json")
            else data
        )

    return request
