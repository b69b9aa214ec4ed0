"""Fixtures of the container tests: stand-in base images, and the images the Dockerfile builds.

Run by `make test-containers` (root, or podman set up for the user). podman reads
tests/containers/containers.conf (CONTAINERS_CONF); every image, container, network and volume
these tests make is named with the `boardctr` prefix and removed again (images stay cached).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.paths import REPO

from .podman import build_standins, ensure_tools, podman
from .stack import COMPOSE

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
