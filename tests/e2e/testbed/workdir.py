"""The per-run work directory (rootfs copy, keys, proxy config, logs) and its safe removal.

Work dirs are ``/var/tmp/board-testbed-<name>.<random>``; "." cannot occur in a name, so the
prefix of one instance never matches another instance's dirs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from . import nspawn
from .commands import log

WORK_ROOT = Path("/var/tmp")


def prefix(name: str) -> str:
    return f"board-testbed-{name}."


def create(name: str) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix=prefix(name), dir=WORK_ROOT))
    os.chmod(workdir, 0o755)
    return workdir


def stale(name: str) -> list[Path]:
    """Work dirs of this instance's earlier runs (crashed runs can lose their state file)."""
    return list(WORK_ROOT.glob(f"{prefix(name)}*"))


def remove(path: Path) -> None:
    # Never delete a tree a container still runs from, nor follow into host mounts.
    for pid in nspawn.using(path / "rootfs"):
        log(f"not removing {path}: systemd-nspawn pid {pid} still uses it")
        return
    mounts = Path("/proc/mounts").read_text()
    if f" {path}/" in mounts or f" {path} " in mounts:
        log(f"not removing {path}: still has mounts")
        return
    shutil.rmtree(path, ignore_errors=True)
