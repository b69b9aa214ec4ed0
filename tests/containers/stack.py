"""docker-compose.yml as the container tests drive it: podman-compose on one project, and what the
tests ask of its containers (inspect, logs, health)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from support.paths import REPO
from support.tools import venv_tool

from .podman import PREFIX, env, podman

COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
PROJECT = f"{PREFIX}-stack"
SERVER_NAME = "localhost"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, env_file: Path, secrets_: dict[str, str], https_port: int):
        self.env_file = env_file
        self.secrets = secrets_
        self.https_port = https_port

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [
            venv_tool("podman-compose"),
            "--env-file",
            str(self.env_file),
            "--project-name",
            PROJECT,
            "--file",
            str(COMPOSE_FILE),
            *args,
        ]
        r = subprocess.run(argv, env=env(), text=True, capture_output=True, check=False)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    def container(self, service: str) -> str:
        return f"{PROJECT}_{service}_1"

    def inspect(self, service: str) -> dict:
        return json.loads(podman("container", "inspect", self.container(service)).stdout)[0]

    def logs(self) -> str:
        return "\n".join(
            f"--- {s}\n" + podman("logs", "--tail=40", self.container(s), check=False).stderr
            for s in ("db", "redis", "migrate", "app", "nginx")
        )

    def wait_healthy(self, service: str, timeout: float = 120) -> None:
        # podman runs HEALTHCHECKs from systemd timers, absent here: run the service's check.
        deadline = time.monotonic() + timeout
        while podman("healthcheck", "run", self.container(service), check=False).returncode:
            if time.monotonic() > deadline:
                pytest.fail(f"{service} is not healthy after {timeout}s\n{self.logs()}")
            time.sleep(2)
