"""Command-line tools the suites run: the venv's own (ansible-playbook, ssh-audit, ...)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# The venv pytest runs in: its console scripts are installed next to its interpreter.
VENV_BIN = Path(sys.executable).parent


def venv_tool(name: str) -> str:
    """`name` from the venv pytest runs in, else from PATH."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found (run from the project venv)")
    return found
