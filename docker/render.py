#!/usr/bin/env python3
"""Render one of the deploy's Jinja2 templates for the container image, the way Ansible would.

    render.py TEMPLATE OUT VARS.yml [VARS.yml ...] [NAME=VALUE ...]

The servers get systemd/gunicorn.conf.py.j2 and nginx/board.conf.j2 from Ansible; the image
build (Dockerfile) renders the same files with this script, so there is one template per file.
Variables come from the given YAML files, later ones winning (the roles' defaults first, then
docker/vars/*.yml with the container's values), then NAME=VALUE strings. Like Ansible, a value
may refer to other variables ("{{ app_root }}/shared"); those are resolved before rendering.
Only the few Ansible filters these templates use are provided. A variable the template needs
but nobody set is an error, never an empty string.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jinja2
import yaml


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _comment(text: str, prefix: str = "# ") -> str:
    """Ansible's `comment` filter (default style): the text as a block of # lines."""
    return "#\n" + "".join(f"{prefix}{line}".rstrip() + "\n" for line in text.splitlines()) + "#"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(  # noqa: S701 - renders config files, not HTML
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True
    )
    env.filters.update(bool=_bool, comment=_comment)
    return env


def _resolve(env: jinja2.Environment, variables: dict) -> dict:
    """Render templated values until none changes (values that cannot resolve stay as they are)."""

    def render(value):
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            try:
                return env.from_string(value).render(variables)
            except jinja2.TemplateError:  # unset variable, Ansible-only filter: not ours to use
                return value
        if isinstance(value, list):
            return [render(v) for v in value]
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        return value

    for _ in range(10):
        resolved = {k: render(v) for k, v in variables.items()}
        if resolved == variables:
            break
        variables = resolved
    return variables


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    template, out = Path(argv[0]), Path(argv[1])
    variables: dict = {}
    for arg in argv[2:]:
        if "=" in arg and not arg.endswith((".yml", ".yaml")):
            name, _, value = arg.partition("=")
            variables[name] = value
        else:
            variables.update(yaml.safe_load(Path(arg).read_text()) or {})
    variables.setdefault(
        "ansible_managed",
        f"Rendered from {template} for the container image by docker/render.py; do not edit.",
    )
    env = _environment()
    variables = _resolve(env, variables)
    try:
        text = env.from_string(template.read_text()).render(variables)
    except jinja2.TemplateError as exc:
        print(f"render.py: {template}: {exc} (set it in one of {argv[2:]})", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    os.chmod(out, 0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
