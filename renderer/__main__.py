"""python -m renderer TEMPLATE OUT VARS.yml [VARS.yml ...] [NAME=VALUE ...]

Renders TEMPLATE into OUT (mode 0644) for the container image (the Dockerfile runs it).
Variables come from the given YAML files, later ones winning (the roles' defaults first, then
docker/vars/*.yml with the container's values), then NAME=VALUE strings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jinja2

from . import load, render


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    template, out = Path(argv[0]), Path(argv[1])
    files = [a for a in argv[2:] if "=" not in a or a.endswith((".yml", ".yaml"))]
    variables = load(*files)
    for arg in argv[2:]:
        if arg not in files:
            name, _, value = arg.partition("=")
            variables[name] = value
    managed = (
        f"Rendered from {template} for the container image by `python -m renderer`; do not edit."
    )
    try:
        text = render(template, variables, ansible_managed=managed)
    except jinja2.TemplateError as exc:
        print(f"renderer: {template}: {exc} (set it in one of {argv[2:]})", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    os.chmod(out, 0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
