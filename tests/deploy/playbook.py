"""Run a test's own playbook with ansible-playbook from deploy/, so deploy/'s group_vars, roles
and ansible.cfg apply to it as to the real playbooks; the file is removed afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

# DEPLOY and BIN are re-exported: this suite's tests import them from here.
from support.paths import DEPLOY, ROLES
from support.tools import VENV_BIN as BIN

# The vault values group_vars reads, for playbooks that template the app's settings.
SECRETS = {
    "vault_postgresql_owner_password": "owner-password-0123456789",
    "vault_postgresql_runtime_password": "runtime-password-0123456789",
    "vault_redis_password": "redis-password-0123456789",
    "vault_app_secret_key": "k" * 50,
}


def run_playbook(
    text: str, name: str, inventory: str = "localhost,", extra: dict | None = None, *args: str
) -> subprocess.CompletedProcess:
    """ansible-playbook over `text` (written as deploy/.<name>.yml) with extra vars `extra`."""
    playbook = DEPLOY / f".{name}.yml"
    playbook.write_text(text)
    extra = {"ansible_python_interpreter": sys.executable, **(extra or {})}
    try:
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", inventory, *args, "-e", json.dumps(extra)]
            + [str(playbook)],
            cwd=DEPLOY,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        playbook.unlink()


def run_outside_deploy(tmp_path: Path, plays: list[dict], extra: dict | None = None) -> None:
    """The plays, from a directory outside deploy/ (no group_vars; the roles found through
    ANSIBLE_ROLES_PATH), against the controller: only their tasks tagged `paths` run, with
    board_repo_root, the one variable such a playbook must set, pointing at the repository."""
    playbook = tmp_path / "outside-deploy.yml"
    playbook.write_text(yaml.safe_dump(plays))
    extra = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "board_repo_root": str(DEPLOY.parent),
        **(extra or {}),
    }
    run = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "--tags", "paths"]
        + ["--skip-tags", "always", "-e", json.dumps(extra), str(playbook)],
        cwd=tmp_path,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROLES)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
