"""The database's names and limits have one home, the postgresql role's defaults: the container
stack, which cannot read them (compose has no templating), carries copies that must not drift,
and the bench reads them from the role."""

from __future__ import annotations

import re

import yaml
from support.paths import REPO

from renderer import role_variables

POSTGRESQL = role_variables("postgresql")
# docker-compose.yml's db environment -> the role default it copies.
COMPOSE_DB_COPIES = {
    "POSTGRES_DB": "postgresql_database",
    "BOARD_DB_OWNER_ROLE": "postgresql_owner_role",
    "BOARD_DB_RUNTIME_ROLE": "postgresql_runtime_role",
    "BOARD_DB_OWNER_CONN_LIMIT": "postgresql_owner_conn_limit",
    "BOARD_DB_OWNER_LOCK_TIMEOUT": "postgresql_owner_lock_timeout",
    "BOARD_DB_RUNTIME_CONN_LIMIT": "postgresql_runtime_conn_limit",
    "BOARD_DB_RUNTIME_STATEMENT_TIMEOUT": "postgresql_runtime_statement_timeout",
    "BOARD_DB_RUNTIME_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": (
        "postgresql_runtime_idle_in_transaction_session_timeout"
    ),
    "BOARD_DB_RUNTIME_LOCK_TIMEOUT": "postgresql_runtime_lock_timeout",
}


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_container_stack_copies_the_roles_database_facts_exactly():
    env = _compose()["services"]["db"]["environment"]
    drift = {
        name: (env.get(name), POSTGRESQL[default])
        for name, default in COMPOSE_DB_COPIES.items()
        if str(env.get(name)) != str(POSTGRESQL[default])
    }
    assert drift == {}, "docker-compose.yml (compose value, role default)"


def test_the_container_stack_connects_as_the_roles_owner_and_runtime_roles():
    services = _compose()["services"]
    expected = {
        "migrate": POSTGRESQL["postgresql_owner_role"],
        "app": POSTGRESQL["postgresql_runtime_role"],
    }
    for service, role in expected.items():
        url = services[service]["environment"]["DATABASE_URL"]
        match = re.fullmatch(r"postgres://(\w+):.*@db:5432/(\w+)", url)
        assert match, (service, url)
        assert match.groups() == (role, POSTGRESQL["postgresql_database"]), (service, url)


def test_the_bench_names_no_database_role_itself():
    # (The database's name is the app's name too, so only the roles are looked for.)
    source = (REPO / "bench" / "stack.py").read_text()
    for fact in ("postgresql_owner_role", "postgresql_runtime_role"):
        assert not re.search(rf"[\"']{POSTGRESQL[fact]}[\"']", source), fact
