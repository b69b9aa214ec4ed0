"""Production settings: no secret defaults, and Django's deploy checks come out clean."""

import json
import os
import subprocess
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2]
REPO = APP_DIR.parent

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


def _manage(*args, settings="config.settings", **env):
    # Only the basics of this environment: no settings variable of the developer leaks in, and
    # no `.env` is read unless a test names one (ENV_FILE).
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    base["DJANGO_SETTINGS_MODULE"] = settings
    base["ENV_FILE"] = os.devnull
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


def _print_setting(expression: str, settings="config.settings", **env):
    result = _manage(
        "shell",
        "-c",
        f"from django.conf import settings; print({expression})",
        settings=settings,
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_throttle_rates_come_from_the_environment():
    rates = _print_setting(
        "settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']",
        **PRODUCTION_ENV,
        THROTTLE_ANON_RATE="7/min",
        THROTTLE_USER_RATE="70/hour",
        THROTTLE_AUTH_RATE="3/min",
    )
    assert rates == "{'anon': '7/min', 'user': '70/hour', 'auth': '3/min'}"


def test_redis_url_selects_redis_and_its_absence_the_database_cache():
    backend = "settings.CACHES['default']['BACKEND']"
    redis = _print_setting(backend, **PRODUCTION_ENV, REDIS_URL="unix://u:p@/run/r.sock?db=0")
    assert redis == "django.core.cache.backends.redis.RedisCache"
    # Without Redis: one table every worker shares (never per-process memory).
    assert (
        _print_setting(backend, **PRODUCTION_ENV) == "django.core.cache.backends.db.DatabaseCache"
    )


def test_a_copy_of_env_example_starts(tmp_path):
    """`.env.example` says "copy me": its empty values mean "the default", so a copy with only the
    required SECRET_KEY filled in passes Django's checks and migrates a fresh database."""
    env_file = tmp_path / ".env"
    text = (REPO / ".env.example").read_text()
    assert "\nSECRET_KEY=\n" in text
    env_file.write_text(text.replace("\nSECRET_KEY=\n", "\nSECRET_KEY=" + "s3cr3t-" * 8 + "\n"))
    # The example's DATABASE_URL is empty (SQLite under app/): point the copy at a scratch file.
    sqlite = tmp_path / "db.sqlite3"
    env = {"ENV_FILE": str(env_file), "DATABASE_URL": f"sqlite:///{sqlite}"}
    check = _manage("check", **env)
    assert check.returncode == 0, check.stderr
    migrate = _manage("migrate", "--noinput", **env)
    assert migrate.returncode == 0, migrate.stderr
    assert _print_setting("settings.STATIC_ROOT", **env) == str(APP_DIR / "staticfiles")
    assert _print_setting("settings.CSRF_TRUSTED_ORIGINS", **env) == "[]"


def test_a_copy_of_env_example_with_an_empty_database_url_uses_sqlite(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=" + "k" * 50 + "\nDATABASE_URL=\nSTATIC_ROOT=\nCACHE_DIR=\n")
    engine = _print_setting("settings.DATABASES['default']['ENGINE']", ENV_FILE=str(env_file))
    assert engine == "django.db.backends.sqlite3"


def test_the_test_settings_ignore_a_local_env_file(tmp_path):
    """A developer's `.env` (here: named by ENV_FILE, as the repository's would be found) must
    not change the suite: config.test_settings reads no file and sets every value itself."""
    env_file = tmp_path / ".env"
    env_file.write_text("THROTTLE_ANON_RATE=1/min\nADMIN_URL=elsewhere/\nDEBUG=True\n")
    assert _print_setting("settings.ADMIN_URL", ENV_FILE=str(env_file), **PRODUCTION_ENV) == (
        "elsewhere/"
    )
    rates = "settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']"
    expression = f"(settings.ADMIN_URL, settings.DEBUG, {rates}['anon'])"
    values = _print_setting(
        expression,
        settings="config.test_settings",
        ENV_FILE=str(env_file),
        THROTTLE_ANON_RATE="1/min",
    )
    assert values == "('admin/', False, '100/min')"


def test_readyz_is_503_json_while_the_database_is_down():
    """A real connection attempt to a port nothing listens on (no mock): 503, and no traceback."""
    code = (
        "from django.test import Client; r = Client().get('/readyz'); "
        "print(r.status_code, r.content.decode())"
    )
    result = _manage(
        "shell",
        "-c",
        code,
        **{
            **PRODUCTION_ENV,
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "False",
            "DATABASE_URL": "postgres://board:nope@127.0.0.1:9/board",
        },
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "migrations": "unknown", "cache": "unavailable"},
        "reason": "database error: OperationalError",
    }


def test_a_database_url_with_a_host_list_reaches_libpq_as_one_multi_host_connection():
    """A Patroni cluster's DATABASE_URL (the app role renders it): every database server in the host
    part, one port, libpq's options in the query string. libpq gets the list as one host string and
    keeps the server that takes writes; the options (timeouts, keepalives) reach it unchanged."""
    url = (
        "postgres://board_app:p%2Fw@10.0.0.11,10.0.0.14:5432/board?sslmode=verify-full"
        "&sslrootcert=/srv/board/shared/database-ca.crt&target_session_attrs=read-write"
        "&connect_timeout=3&keepalives=1&keepalives_idle=5&tcp_user_timeout=10000"
    )
    code = (
        "import json; from django.db import connection; p = connection.get_connection_params(); "
        "p.pop('cursor_factory', None); print(json.dumps(p, sort_keys=True))"
    )
    result = _manage("shell", "-c", code, **{**PRODUCTION_ENV, "DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    params = json.loads(result.stdout.strip().splitlines()[-1])
    assert params["host"] == "10.0.0.11,10.0.0.14"
    assert params["port"] == 5432 and params["dbname"] == "board" and params["password"] == "p/w"
    assert params["target_session_attrs"] == "read-write"
    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == "/srv/board/shared/database-ca.crt"
    assert (params["connect_timeout"], params["keepalives_idle"], params["tcp_user_timeout"]) == (
        3,
        5,
        10000,
    )
