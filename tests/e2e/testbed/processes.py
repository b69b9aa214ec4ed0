"""Finding and stopping processes, always by PID and never by name.

Other engineers' test beds run on the same machine, so a process is only matched by its full
command line (which names this instance's netns or work dir) and then signalled by PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from .commands import log


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def cmdline_has(pid: int, word: str) -> bool:
    """Whether the file name of the process's executable (argv[0]) contains ``word``."""
    return any(word in Path(a).name for a in cmdline(pid)[:1])


def is_program(argv: list[str], program: str) -> bool:
    """Whether a command line runs the executable named ``program``."""
    return bool(argv) and Path(argv[0]).name == program


def find_pids(program: str, match: Callable[[list[str]], bool]) -> list[int]:
    """PIDs of the ``program`` processes whose arguments (argv[1:]) satisfy ``match``."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            argv = cmdline(int(d.name))
            if is_program(argv, program) and match(argv[1:]):
                pids.append(int(d.name))
    return pids


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # reap if it is our child and already exited
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; True when it stopped within them."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.3)
    log(f"pid {pid} ignored SIGTERM for {timeout}s; sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    return False
