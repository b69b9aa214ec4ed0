"""The state file of a running instance (/run/board-testbed/<name>/state.json).

It records the work dir and the PIDs this package started, so a later ``down`` (another
process, the CLI, a crashed session) stops exactly those and nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

STATE_ROOT = Path("/run/board-testbed")


def path(name: str) -> Path:
    return STATE_ROOT / name / "state.json"


def save(state_file: Path, state: dict) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, state_file)


def load(state_file: Path) -> dict | None:
    """The saved state, or None when there is none (or it cannot be read)."""
    try:
        return json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
