"""A real Bugsink server (Sentry protocol) for the error-report test, on loopback.

Bugsink pins its own Django, so it gets its own venv, built from requirements/bugsink.lock
(hash-pinned) and cached under /var/tmp by the lock's hash: only the first run installs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from support.paths import REPO

LOCK = REPO / "requirements" / "bugsink.lock"
CACHE = Path(os.environ.get("BUGSINK_VENV_CACHE", "/var/tmp/board-bugsink"))


def venv() -> Path:
    """The Bugsink venv for the current lock, made on first use."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    path = CACHE / digest
    if not (path / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        subprocess.run(
            [str(path / "bin" / "pip"), "install", "--quiet", "--require-hashes", "-r", str(LOCK)],
            check=True,
        )
        (path / ".installed").touch()
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bugsink:
    """One Bugsink instance in `workdir`: SQLite databases there, events digested at once."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.bin = venv() / "bin"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [str(self.bin / "bugsink-manage"), *args],
            cwd=self.workdir, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        return result.stdout

    def start(self) -> str:
        """Configure, migrate and serve; returns the DSN of a new project."""
        subprocess.run(
            [str(self.bin / "bugsink-create-conf"), "--template", "local", "--host", "127.0.0.1",
             "--port", str(self.port), "-o", str(self.workdir / "bugsink_conf.py")],
            check=True, capture_output=True,
        )  # fmt: skip
        self.manage("migrate", "--verbosity", "0")
        out = self.manage(
            "shell", "-c",
            "from teams.models import Team; from projects.models import Project; "
            "project = Project.objects.create(name='board', team=Team.objects.create(name='ops')); "
            "print('DSN=' + project.dsn)",
        )  # fmt: skip
        dsn = next(line[4:] for line in out.splitlines() if line.startswith("DSN="))
        with open(self.workdir / "bugsink.log", "w") as log:
            self.process = subprocess.Popen(
                [str(self.bin / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                 "bugsink.wsgi"],
                cwd=self.workdir, env={**os.environ, "DJANGO_SETTINGS_MODULE": "bugsink_conf",
                                       "PYTHONPATH": str(self.workdir)},
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for_port(self.port, self.process, self.workdir / "bugsink.log")
        return dsn

    def events(self) -> list[dict]:
        """Every stored event, as the JSON Bugsink keeps of it."""
        out = self.manage(
            "shell", "-c",
            "import json; from events.models import Event; "
            "print('EVENTS=' + json.dumps([e.get_parsed_data() for e in Event.objects.all()]))",
        )  # fmt: skip
        return json.loads(next(line[7:] for line in out.splitlines() if line.startswith("EVENTS=")))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s:\n{log.read_text()}")
