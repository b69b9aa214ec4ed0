"""Running host commands and logging, shared by every module of the test bed."""

from __future__ import annotations

import subprocess
import sys


def log(msg: str) -> None:
    print(f"[testbed] {msg}", file=sys.stderr, flush=True)


def run(argv, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, text=True, **kw)


def quiet(argv) -> subprocess.CompletedProcess:
    """Run a cleanup command; failures are expected and ignored."""
    return subprocess.run(argv, check=False, text=True, capture_output=True)
