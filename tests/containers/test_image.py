"""The app image the Dockerfile builds: non-root, read-only code, no build tools, healthy."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import uuid

import pytest
from support.paths import REPO

from .podman import PREFIX, podman


def run_in(image: str, *cmd: str, **kw) -> subprocess.CompletedProcess:
    return podman("run", "--rm", "--network=none", image, *cmd, check=False, **kw)


@pytest.fixture(scope="module")
def inspect(app_image) -> dict:
    return json.loads(podman("image", "inspect", app_image).stdout)[0]


@pytest.fixture(scope="module")
def running(app_image):
    """The image started the way docker-compose.yml starts it (no database: /healthz needs none)."""
    name = f"{PREFIX}-image-{uuid.uuid4().hex[:8]}"
    podman(
        "run",
        "--detach",
        "--name",
        name,
        "--network=none",
        "--read-only",
        "--tmpfs=/tmp",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--env",
        "SECRET_KEY",
        "--env",
        "ALLOWED_HOSTS=board.test",
        app_image,
        env_extra={"SECRET_KEY": secrets.token_urlsafe(50)},
    )
    try:
        yield name
    finally:
        podman("rm", "--force", "--time=5", name, check=False)


def test_image_runs_as_a_numeric_non_root_user(app_image, inspect):
    assert inspect["Config"]["User"] == "10001:10001"
    out = run_in(app_image, "id", "-u")
    assert out.stdout.strip() == "10001", out.stderr


def test_app_files_are_not_writable_by_that_user(app_image):
    probe = (
        "import os, pathlib\n"
        "bad = [p for root in ('/srv/board', '/opt/venv') for p in pathlib.Path(root).rglob('*')"
        " if os.access(p, os.W_OK) or p.stat().st_uid == os.getuid()]\n"
        "print(len(bad), bad[:5])\n"
        "for target in ('/srv/board/current/app/x', '/opt/venv/x', '/srv/board/shared/x'):\n"
        "    try:\n"
        "        open(target, 'w')\n"
        "        print('wrote', target)\n"
        "    except PermissionError:\n"
        "        pass\n"
    )
    out = run_in(app_image, "python3", "-c", probe)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0 []", out.stdout


def test_runtime_stage_has_no_compilers_or_build_tools(app_image):
    tools = "gcc cc c++ g++ make ld as pip pip3"
    out = run_in(app_image, "sh", "-c", f"for t in {tools}; do command -v $t; done; true")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"found in the runtime image:\n{out.stdout}"
    # and the dependencies are the locked ones (installed from the wheels, hash-checked)
    freeze = run_in(app_image, "python3", "-m", "pip", "--version")
    assert freeze.returncode != 0, "pip is still in the runtime image"


def test_oci_labels_and_the_baked_revision(inspect, revision):
    labels = inspect["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == revision
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert "org.opencontainers.image.source" in labels
    assert inspect["Healthcheck"]["Test"] == [
        "CMD",
        "python3",
        "/usr/local/bin/board-healthcheck",
    ]


def test_gunicorn_reads_the_systemd_template_rendered_for_the_container(app_image):
    """The image's gunicorn.conf.py is systemd/gunicorn.conf.py.j2, rendered: one template."""
    rendered = subprocess.run(
        [
            sys.executable,
            "-m",
            "renderer",
            "systemd/gunicorn.conf.py.j2",
            "/dev/stdout",
            "deploy/roles/board/defaults/main.yml",
            "deploy/roles/app/defaults/main.yml",
            "docker/vars/gunicorn.yml",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    in_image = run_in(app_image, "cat", "/srv/board/shared/gunicorn.conf.py")
    assert in_image.stdout == rendered
    assert 'chdir = "/srv/board/current/app"' in rendered


def _wait_healthy(name: str, timeout: float = 90) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + timeout
    while True:
        # podman runs HEALTHCHECKs from systemd timers, absent here: run the image's check now.
        r = podman("healthcheck", "run", name, check=False)
        if r.returncode == 0 or time.monotonic() > deadline:
            return r
        time.sleep(2)


def test_healthz_answers_from_inside_with_the_revision(running, revision):
    r = _wait_healthy(running)
    assert r.returncode == 0, (r.stdout, r.stderr, podman("logs", running, check=False).stderr)
    probe = (
        "import http.client\n"
        "c = http.client.HTTPConnection('127.0.0.1', 8000, timeout=5)\n"
        "c.request('GET', '/healthz', headers={'Host': 'board.test'})\n"
        "r = c.getresponse()\n"
        "print(r.status, r.getheader('X-App-Revision'), r.read().decode())\n"
    )
    out = podman("exec", running, "python3", "-c", probe)
    assert out.stdout.strip().split(maxsplit=2) == ["200", revision, '{"status": "ok"}']
    # Gunicorn runs as the image's user, with no capabilities and a read-only root
    ps = podman("exec", running, "sh", "-c", "id -u; grep CapEff /proc/1/status; touch /x; true")
    lines = ps.stdout.split("\n")
    assert lines[0] == "10001"
    assert lines[1].split() == ["CapEff:", "0000000000000000"]
    assert "Read-only file system" in ps.stderr
