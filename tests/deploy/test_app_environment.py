"""The app's environment variables have one home, app/config/settings.py, the only code that
reads them (env(), and ENV_FILE from os.environ). Every other list of them is a copy held to it
here: the app role's shared/.env (app_env_base), docker-compose.yml's app and migrate services,
the bench's environment, .env.example and the test settings. A copy that names a variable the
settings do not read, or lacks one a running app needs, fails."""

from __future__ import annotations

import ast
import re

import yaml
from support.paths import REPO, ROLES

SETTINGS = REPO / "app" / "config" / "settings.py"
# Read by other programs than the settings, in the same environment.
OTHER_READERS = {
    "DJANGO_SETTINGS_MODULE": "Django",
    "PYTHONPATH": "Python",
    "GUNICORN_CMD_ARGS": "Gunicorn",
}
# What an app that serves needs from its environment: SECRET_KEY (the settings refuse to start
# without it when DEBUG is off) and DATABASE_URL (without it the settings fall back to SQLite
# inside the code tree).
REQUIRED = {"SECRET_KEY", "DATABASE_URL"}
# Settings the servers' shared/.env leaves at the settings' defaults, and why.
NOT_IN_SHARED_ENV = {
    "APP_REVISION": "gunicorn.conf.py sets it from current/REVISION, board-manage per release",
    "ENV_FILE": "systemd loads shared/.env itself (EnvironmentFile=)",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "the settings' default; nginx sends its own HSTS header",
    "SECURE_HSTS_PRELOAD": "the settings' default; nginx sends its own HSTS header",
}


def _settings_reads() -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else ""
        first = node.args[0]
        reads = called == "env" or ast.unparse(func) == "os.environ.get"
        if reads and isinstance(first, ast.Constant):
            names.add(first.value)
    return names


READ = _settings_reads()


def _compose_app_environments() -> dict[str, dict]:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    return {name: services[name]["environment"] for name in ("app", "migrate")}


def _bench_environment() -> set[str]:
    tree = ast.parse((REPO / "bench" / "stack.py").read_text())
    method = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_write_app_env"
    )
    literal = next(n for n in ast.walk(method) if isinstance(n, ast.Dict))
    return {key.value for key in literal.keys}


def _dotenv_names(path) -> set[str]:
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", path.read_text(), re.M))


def test_the_settings_are_what_reads_the_environment():
    # The scan finds what it should: a setting of every kind, and the refusal without a key.
    assert {"SECRET_KEY", "DATABASE_URL", "THROTTLE_AUTH_RATE", "ENV_FILE"} <= READ
    assert "SECRET_KEY is not set" in SETTINGS.read_text()


def test_the_servers_env_file_sets_every_setting_but_those_named_here():
    app_env = yaml.safe_load((ROLES / "app" / "vars" / "main.yml").read_text())["app_env_base"]
    assert set(app_env) - READ == set(), "shared/.env names variables the settings do not read"
    assert READ - set(app_env) == set(NOT_IN_SHARED_ENV), "a setting shared/.env does not set"


def test_the_container_stack_names_only_settings_and_sets_the_required_ones():
    for service, env in _compose_app_environments().items():
        assert set(env) - READ - set(OTHER_READERS) == set(), service
        assert set(env) >= REQUIRED, service


def test_the_bench_names_only_settings_and_sets_the_required_ones():
    names = _bench_environment()
    assert names - READ - set(OTHER_READERS) == set()
    assert names >= REQUIRED


def test_env_example_documents_every_setting_and_the_compose_inputs_only():
    documented = _dotenv_names(REPO / ".env.example")
    compose_inputs = set(re.findall(r"\$\{(\w+)", (REPO / "docker-compose.yml").read_text()))
    assert READ - {"ENV_FILE"} - documented == set(), "settings .env.example does not document"
    assert documented - READ - compose_inputs == set(), ".env.example names an unused variable"


def test_the_test_settings_set_settings_only():
    tree = ast.parse((REPO / "app" / "config" / "test_settings.py").read_text())
    literal = next(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "TEST_ENVIRONMENT"
    )
    assert {key.value for key in literal.keys} - READ == set()
