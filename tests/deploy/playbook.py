"""Run a test's own playbook with ansible-playbook from deploy/, so deploy/'s group_vars, roles
and ansible.cfg apply to it as to the real playbooks; the file is removed afterwards."""

from __future__ import annotations

import json
import subprocess
import sys

# DEPLOY and BIN are re-exported: this suite's tests import them from here.
from support.paths import DEPLOY
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
