"""Values the tests check, read from the roles' defaults (the code under test), not repeated."""

from __future__ import annotations

from functools import cache

import yaml

from renderer import ROLES, role_defaults


@cache
def _defaults(role: str) -> dict:
    return role_defaults(role)


def role_default(role: str, name: str):
    """A role's default, with references to the role's other defaults rendered (renderer)."""
    value = _defaults(role)[name]
    if isinstance(value, str) and "{{" in value:
        raise ValueError(
            f"{role}: {name} refers to variables its role's defaults do not set: {value}"
        )
    return value


def role_var(role: str, name: str):
    """A role's fixed variable (vars/main.yml), as written there."""
    return yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text())[name]


def release_var(role: str, name: str, version: str):
    """A role's variable for a Debian version, from the file its include_vars picks for it:
    vars/Debian-<version>.yml, else vars/Debian.yml."""
    path = ROLES / role / "vars" / f"Debian-{version}.yml"
    if not path.exists():
        path = ROLES / role / "vars" / "Debian.yml"
    return yaml.safe_load(path.read_text())[name]
