"""Production settings: no secret defaults, and Django's deploy checks come out clean."""

import os
import subprocess
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "k3y-" + "x7Qp9" * 12,
    "ALLOWED_HOSTS": "board.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://board.example.com",
    "SECURE_SSL_REDIRECT": "True",
    "SECURE_COOKIES": "True",
    "NUM_PROXIES": "1",
    "SECURE_HSTS_SECONDS": "63072000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
    "SECURE_HSTS_PRELOAD": "True",
}


def _manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", *args],
        cwd=APP_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_mode_refuses_to_start_without_secret_key():
    result = _manage("check", **{**PRODUCTION_ENV, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_catches_debug_in_production():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION_ENV, "DEBUG": "True"}
    )
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_admin_url_comes_from_the_environment():
    result = _manage(
        "shell",
        "-c",
        "from django.urls import reverse; print(reverse('admin:index'))",
        **{**PRODUCTION_ENV, "ADMIN_URL": "staff-only-7f3/"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "/staff-only-7f3/"
