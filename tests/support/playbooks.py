"""Playbook runs against test hosts, as an operator runs them from deploy/.

``booted(bed)``   a test bed (one server or the lab) up for the session, down at the end.
``provision()``   site.yml once, with a fresh inventory and vault: a ``Provisioned``, which
                  re-runs playbooks, runs commands on the server and reads its variables.

Knobs: E2E_KEEP=1 leaves the test bed up; E2E_REUSE=1 takes a bed a session left up with
E2E_KEEP=1 as it is (no boot, no first site.yml: its inventory and vault are read back), so a
module that runs late in the order can be tried on its own; E2E_PLAYBOOK (default site.yml) and
E2E_ANSIBLE_ARGS (extra ansible-playbook arguments); E2E_LOG_DIR, where the logs are kept
(default /var/tmp/board-e2e-logs/<test bed name>).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .inventory import INVENTORY_HOST, SERVER_NAME
from .paths import DEPLOY
from .tools import venv_tool
from .vault import encrypt_vault, read_vault, write_vault

if TYPE_CHECKING:
    from e2e.testbed import Testbed

RECAP_RE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")


@dataclass
class PlaybookRun:
    """Result of one ansible-playbook run."""

    returncode: int
    log_path: Path
    stdout: str
    recap: dict[str, dict[str, int]]

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.stdout.splitlines()[-lines:])

    @classmethod
    def from_log(cls, log_path: Path) -> PlaybookRun:
        """A run of an earlier session, read back from its log (E2E_REUSE=1 on a kept bed)."""
        text = log_path.read_text()
        return cls(0, log_path, text, parse_recap(text))

    def _changed(self) -> Iterator[tuple[str, str]]:
        """(task or handler header, its 'changed' line), in log order."""
        task = None
        for line in self.stdout.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line
            elif line.startswith("changed:") and task:
                yield task, line

    def changed_by_role(self) -> dict[str, set[str]]:
        """Hosts on which each role's tasks and handlers reported 'changed' ("play" for a play's
        own tasks); a delegated task counts for the host it ran for."""
        out: dict[str, set[str]] = {}
        for task, line in self._changed():
            role = re.match(r"(?:TASK|RUNNING HANDLER) \[(?:(\S+) : )?", task).group(1) or "play"
            out.setdefault(role, set()).add(line.removeprefix("changed: [").split()[0].rstrip("]"))
        return out

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported 'changed' (for idempotence diagnostics)."""
        return [f"{task.rstrip(' *')} -> {line}" for task, line in self._changed()]


def parse_recap(text: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap, recap = True, {}
            continue
        if in_recap:
            m = RECAP_RE.match(line.strip())
            if m:
                recap[m.group("host")] = {
                    k: int(v) for k, v in (kv.split("=") for kv in m.group("counts").split())
                }
            elif line.strip():
                in_recap = False
    return recap


@dataclass
class Provisioned:
    """The test server after site.yml ran; can re-run the playbook."""

    testbed: Testbed
    inventory_dir: Path
    vault_password_file: Path
    secrets: dict[str, str]
    log_dir: Path
    host: str = INVENTORY_HOST
    server_name: str = SERVER_NAME
    runs: list[PlaybookRun] = field(default_factory=list)
    # Vault values replaced by rotate_secret (tests check they left no trace either).
    retired_secrets: list[str] = field(default_factory=list)

    @property
    def first_run(self) -> PlaybookRun:
        return self.runs[0]

    def sh(self, command: str, **kwargs) -> str:
        """Run a shell command on the server as root; its stripped stdout (Testbed.sh)."""
        return self.testbed.sh(command, **kwargs)

    def inventory_vars(self, host: str | None = None) -> dict:
        """`host`'s variables as the inventory sets them (every group_vars layer, the vault)."""
        out = subprocess.run(
            [
                venv_tool("ansible-inventory"),
                "-i",
                str(self.inventory_dir),
                "--vault-password-file",
                str(self.vault_password_file),
                "--host",
                host or self.host,
            ],
            cwd=DEPLOY,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    def admin_url(self, host: str | None = None) -> str:
        """The Django admin's path as the inventory sets it (the app role's default otherwise)."""
        return self.inventory_vars(host).get("app_admin_url", "admin/")

    def rotate_secret(self, name: str) -> str:
        """Give the vault value `name` a new random value (re-encrypted); returns it."""
        self.retired_secrets.append(self.secrets[name])
        self.secrets[name] = secrets.token_urlsafe(50 if "key" in name else 24)
        encrypt_vault(self.inventory_dir, self.vault_password_file, self.secrets)
        return self.secrets[name]

    def ansible_playbook_argv(
        self, playbook: str | None = None, extra_args: Sequence[str] = ()
    ) -> list[str]:
        return [
            venv_tool("ansible-playbook"),
            "-i",
            str(self.inventory_dir),
            "--vault-password-file",
            str(self.vault_password_file),
            *shlex.split(os.environ.get("E2E_ANSIBLE_ARGS", "")),
            *extra_args,
            playbook or os.environ.get("E2E_PLAYBOOK", "site.yml"),
        ]

    def run_playbook(
        self, label: str, playbook: str | None = None, extra_args: Sequence[str] = ()
    ) -> PlaybookRun:
        """Run the playbook from deploy/ like an operator; output streamed to a log file."""
        log_path = self.log_dir / f"{len(self.runs) + 1:02d}-{label}.log"
        env = dict(
            os.environ,
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
            PYTHONUNBUFFERED="1",
        )
        env.pop("ANSIBLE_LOG_PATH", None)  # the log file below is the record
        argv = self.ansible_playbook_argv(playbook, extra_args)
        with open(log_path, "w") as logf:
            logf.write("$ cd deploy && " + shlex.join(argv) + "\n")
            logf.flush()
            proc = subprocess.run(
                argv,
                cwd=DEPLOY,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                check=False,
            )
        text = log_path.read_text(errors="replace")
        run = PlaybookRun(proc.returncode, log_path, text, parse_recap(text))
        self.runs.append(run)
        return run


@contextlib.contextmanager
def booted(bed, what: str):
    """Bring a test bed (a Testbed or a Lab) up; down at the end unless E2E_KEEP=1."""
    if os.geteuid() != 0:
        pytest.fail(f"the e2e {what} needs root (network namespaces, systemd-nspawn)")
    reuse = os.environ.get("E2E_REUSE") == "1" and bed.workdir is not None
    try:
        if not reuse:
            bed.up()
        yield bed
    finally:
        if (reuse or os.environ.get("E2E_KEEP") == "1") and bed.workdir is not None:
            print(f"\nE2E_KEEP=1: {what} left up\n{bed.describe()}", file=sys.stderr)
        else:
            bed.down()


def provision(bed, server: Testbed, write_inventory: Callable[[Path], None]) -> Provisioned:
    """site.yml once from deploy/, with a fresh vault, as an operator runs it; fails the session
    when it fails. `write_inventory(dir)` writes the run's inventory into dir."""
    run_dir = bed.workdir / "ansible"
    inv = run_dir / "inventory"
    password_file = run_dir / "vault-password"
    log_dir = Path(os.environ.get("E2E_LOG_DIR", f"/var/tmp/board-e2e-logs/{bed.name}"))
    if os.environ.get("E2E_REUSE") == "1" and inv.is_dir():
        return Provisioned(server, inv, password_file, read_vault(inv, password_file), log_dir)
    run_dir.mkdir(mode=0o700)
    write_inventory(inv)
    values = write_vault(inv, password_file)
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()
    prov = Provisioned(server, inv, password_file, values, log_dir)
    run = prov.run_playbook("site")
    if run.returncode != 0:
        pytest.fail(
            f"ansible-playbook failed (rc={run.returncode}); full log: {run.log_path}\n"
            + run.tail(),
            pytrace=False,
        )
    return prov
