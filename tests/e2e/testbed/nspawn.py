"""The systemd-nspawn process that boots the server, and how to recognise it again.

A container is ours when its command line names this instance's network namespace; that is
the only way a leftover of a crashed run is found, and it never matches another instance.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO

from . import cgroups
from .processes import cmdline, find_pids, is_program

PROGRAM = "systemd-nspawn"


def _netns_flag(netns: str) -> str:
    return f"--network-namespace-path=/run/netns/{netns}"


def start(rootfs: Path, netns: str, machine: str, console: IO[str]) -> subprocess.Popen:
    # The shell joins the container's own cgroups, then becomes systemd-nspawn (same PID).
    join = 'for procs in "$@"; do [ "$procs" = -- ] && break; echo $$ > "$procs"; shift; done'
    return subprocess.Popen(
        [
            "sh",
            "-c",
            join + '; shift; exec "$@"',
            "sh",
            *map(str, cgroups.create(machine)),
            "--",
            PROGRAM,
            "-D",
            str(rootfs),
            "-b",
            "--register=no",
            "--keep-unit",
            _netns_flag(netns),
            f"--machine={machine}",
            "--resolv-conf=off",
            "--timezone=off",
            "--link-journal=no",
            "--console=read-only",
            # The container has its own network namespace, so letting it
            # manage netfilter there (ufw) cannot touch the host's rules.
            "--capability=CAP_NET_ADMIN",
        ],
        stdin=subprocess.DEVNULL,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def is_ours(pid: int, netns: str) -> bool:
    argv = cmdline(pid)
    return is_program(argv, PROGRAM) and _netns_flag(netns) in argv


def find_ours(netns: str) -> list[int]:
    return find_pids(PROGRAM, lambda args: _netns_flag(netns) in args)


def using(rootfs: Path) -> list[int]:
    """Containers (of any instance) that run from ``rootfs``."""
    return find_pids(PROGRAM, lambda args: str(rootfs) in args)
