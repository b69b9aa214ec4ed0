"""A cgroup of its own for each container, under the one the test run is in.

systemd-nspawn runs with ``--keep-unit --register=no``: the container's root cgroup is the
cgroup nspawn starts in. Test beds started from one process would all root their systemd in
the same place, so ``nginx.service`` of one server and of another (the single server and the
lab's app servers, running side by side) would be one cgroup, and killing one server's unit
would fail on the other's processes. Each container starts in ``<ours>/board-testbed-<name>``
instead, in the hierarchies systemd uses (the named systemd one and the unified one).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _mount(controllers: str) -> Path | None:
    if controllers == "name=systemd":
        return ROOT / "systemd"
    if controllers == "":  # the unified hierarchy: beside the v1 ones (hybrid) or alone
        return ROOT / "unified" if (ROOT / "unified" / "cgroup.procs").exists() else ROOT
    return None


def paths(name: str) -> list[Path]:
    """The container's cgroup in each hierarchy systemd uses, under this process's own."""
    found = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, current = line.split(":", 2)
        mount = _mount(controllers)
        if mount is not None and (mount / "cgroup.procs").exists():
            found.append(mount / current.lstrip("/") / f"board-testbed-{name}")
    return found


def create(name: str) -> list[Path]:
    """Create the container's cgroups; returns their cgroup.procs files to join."""
    procs = []
    for path in paths(name):
        path.mkdir(exist_ok=True)
        procs.append(path / "cgroup.procs")
    return procs


def remove(name: str) -> None:
    """Remove the container's cgroups, deepest first, once its processes are gone."""
    for path in paths(name):
        if not path.is_dir():
            continue
        for d, _, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(d)
