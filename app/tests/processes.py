"""Run the app in separate processes, as production does (real settings, real servers)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1]
REPO = APP_DIR.parent


def base_env(**env) -> dict[str, str]:
    """Production settings from the given values only: no developer variable or `.env` leaks in."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    base.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE=os.devnull,
        SECRET_KEY="k" * 50,
        ALLOWED_HOSTS="testserver,localhost",
        SECURE_SSL_REDIRECT="False",
    )
    base.update(env)
    return base


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    """`python -c code` in app/ after django.setup(), with base_env(**env)."""
    prelude = "import django; django.setup()\n"
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", prelude + code],
        cwd=APP_DIR,
        env=base_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
