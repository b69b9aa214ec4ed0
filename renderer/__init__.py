"""Render the repository's Jinja2 templates outside Ansible, with the roles' variables.

The servers get their config files from Ansible's template module. The container image
(Dockerfile), the bench (bench/stack.py) and the tests render the same templates with this
module, so there is one template per file and one renderer:

    variables = role_variables("nginx", nginx_server_name="localhost")
    text = render(REPO / "nginx/board.conf.j2", variables)

role_variables() stacks a role's variables as Ansible does for a role: its defaults/main.yml
(after those of the roles it depends on, meta/main.yml: the board role's app layout),
then the given overrides (where an inventory would set them), then its vars/main.yml. Like
Ansible, a value may refer to other variables ("{{ app_root }}/shared"); those are resolved
before rendering. Only the few Ansible filters these templates use are provided. A variable the
template needs but nobody set is an error, never an empty string.

`python -m renderer` is the command line the Dockerfile uses (see renderer/__main__.py).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parent.parent
ROLES = REPO / "deploy" / "roles"

__all__ = ["REPO", "ROLES", "load", "render", "resolve", "role_defaults", "role_variables"]


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _comment(text: str, prefix: str = "# ") -> str:
    """Ansible's `comment` filter (default style): the text as a block of # lines."""
    return "#\n" + "".join(f"{prefix}{line}".rstrip() + "\n" for line in text.splitlines()) + "#"


def _combine(*dicts: dict) -> dict:
    """Ansible's `combine` filter (not recursive): later dicts win."""
    merged: dict = {}
    for d in dicts:
        merged.update(d)
    return merged


def _to_nice_yaml(value, indent: int = 4, sort_keys: bool = True) -> str:
    """Ansible's `to_nice_yaml` filter: block style, the given indent."""
    return yaml.safe_dump(
        value, indent=indent, sort_keys=sort_keys, default_flow_style=False, allow_unicode=True
    )


def _environment() -> jinja2.Environment:
    # Ansible's template module: trim_blocks, and the template's trailing newline kept.
    env = jinja2.Environment(  # noqa: S701 - renders config files, not HTML
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True
    )
    env.filters.update(bool=_bool, combine=_combine, comment=_comment, to_nice_yaml=_to_nice_yaml)
    return env


def load(*files: Path | str) -> dict:
    """The variables of YAML files, later files winning."""
    variables: dict = {}
    for path in files:
        variables.update(yaml.safe_load(Path(path).read_text()) or {})
    return variables


def resolve(variables: dict) -> dict:
    """The variables with templated values rendered until none changes.

    A value that cannot be rendered yet (it names an unset variable, uses an Ansible-only
    filter, or computes with a value that is itself still unrendered) stays as written."""
    env = _environment()

    def render_value(value):
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            try:
                return env.from_string(value).render(variables)
            except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError):
                return value
        if isinstance(value, list):
            return [render_value(v) for v in value]
        if isinstance(value, dict):
            return {k: render_value(v) for k, v in value.items()}
        return value

    for _ in range(10):
        resolved = {k: render_value(v) for k, v in variables.items()}
        if resolved == variables:
            break
        variables = resolved
    return variables


def _with_dependencies(roles: tuple[str, ...]) -> list[str]:
    """The roles and those they depend on (meta/main.yml), each dependency before its role."""
    ordered: list[str] = []

    def visit(role: str) -> None:
        meta = ROLES / role / "meta" / "main.yml"
        entries = ((yaml.safe_load(meta.read_text()) or {}) if meta.is_file() else {}).get(
            "dependencies"
        )
        for entry in entries or []:
            visit(entry["role"] if isinstance(entry, dict) else entry)
        if role not in ordered:
            ordered.append(role)

    for role in roles:
        visit(role)
    return ordered


def _defaults_files(roles: tuple[str, ...]) -> list[Path]:
    return [
        path
        for role in _with_dependencies(roles)
        if (path := ROLES / role / "defaults" / "main.yml").is_file()
    ]


def role_defaults(role: str) -> dict:
    """A role's defaults/main.yml (after its dependencies'), resolved against themselves."""
    return resolve(load(*_defaults_files((role,))))


def role_variables(*roles: str, **overrides) -> dict:
    """The variables a template of these roles sees, in Ansible's order, resolved: every role's
    defaults/main.yml (and its dependencies'), then `overrides` (an inventory's values), then
    every role's vars/main.yml (role vars win over the inventory in Ansible too)."""
    variables = load(*_defaults_files(roles))
    variables.update(overrides)
    for role in roles:
        fixed = ROLES / role / "vars" / "main.yml"
        if fixed.is_file():
            variables.update(load(fixed))
    return resolve(variables)


def render(template: Path | str, variables: dict, ansible_managed: str | None = None) -> str:
    """A template (a file, or its text) rendered with `variables`; a value that names an unset
    variable is an error (jinja2.UndefinedError), as in Ansible.

    `ansible_managed` is the header line when the variables set none."""
    text = template.read_text() if isinstance(template, Path) else template
    if ansible_managed is not None:
        variables = {"ansible_managed": ansible_managed, **variables}
    env = _environment()
    rendered = env.from_string(text).render(resolve(variables))
    # A value that names a variable nobody set stays as written after resolve(); in the output
    # it would be a silent `{{ ... }}` in a config file, so it is an error like any undefined.
    left = [line.strip() for line in rendered.splitlines() if "{{" in line or "{%" in line]
    if left:
        raise jinja2.UndefinedError(f"a value names a variable that is not set: {left[0]}")
    return rendered
