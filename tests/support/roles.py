"""Values the tests check, read from the roles' defaults (the code under test), not repeated."""

from __future__ import annotations

from functools import cache

import jinja2
import yaml

from .paths import ROLES


@cache
def _defaults(role: str) -> dict:
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def role_default(role: str, name: str) -> str:
    """A role's default, with references to the role's other defaults rendered."""
    value, defaults = _defaults(role)[name], _defaults(role)
    for _ in range(5):  # defaults may refer to defaults that refer to defaults
        if not isinstance(value, str) or "{{" not in value:
            break
        value = jinja2.Template(value, undefined=jinja2.StrictUndefined).render(**defaults)
    return value


def role_var(role: str, name: str):
    """A role's fixed variable (vars/main.yml), as written there."""
    return yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text())[name]
