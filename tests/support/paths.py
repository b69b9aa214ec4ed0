"""Where things are in the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ROLES = DEPLOY / "roles"
TESTS = REPO / "tests"


def repo_files(*folders: str | Path) -> list[Path]:
    """The repository's files under folders as git sees them, tracked or new, sorted: never what
    .gitignore leaves out, such as a release another suite is building in deploy/.build/ while a
    test walks deploy/ (its staged copy of the app appears and vanishes under the walk)."""
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *folders],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    # --cached lists a tracked file deleted in the work tree too; it is not there to read.
    return [REPO / name for name in sorted(set(names)) if name and (REPO / name).is_file()]
