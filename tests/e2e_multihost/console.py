"""A way into a lab server that does not need sshd: its console, as an operator with a cloud
provider's serial console has. Runs a command in the container's namespaces, found from the
systemd-nspawn process the test bed started (by PID, never by name)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _init_pid(nspawn_pid: int) -> int:
    """The container's PID 1: systemd-nspawn's child."""
    children = Path(f"/proc/{nspawn_pid}/task/{nspawn_pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def console(server, command: str) -> str:
    """Run `command` as root on `server` (a LabServer) without SSH; its stripped stdout."""
    pid = _init_pid(server.nspawn_pid)
    out = subprocess.run(
        ["nsenter", "--target", str(pid), "--all", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, f"{command!r} on {server.name}: {out.stdout}{out.stderr}"
    return out.stdout.strip()
