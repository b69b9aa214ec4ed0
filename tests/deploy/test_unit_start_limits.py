"""Every unit or drop-in the roles install that restarts a service (Restart=, RestartSec=) also
sets a start limit that ends a crash loop: a start that always fails makes one start every
RestartSec seconds, so StartLimitBurst more starts must land within StartLimitIntervalSec, or
the unit restarts for ever and never becomes failed (systemd's default, 5 starts in 10 s, never
trips with RestartSec=2). The loop must end within a couple of minutes.

Read from the roles' tasks (which templates go under /etc/systemd/system) and the templates
themselves, with the values the tasks and the roles' defaults give them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from support.paths import REPO, ROLES

from renderer import render, role_variables

# Longest a loop of starts that fail at once may go on before the unit stays failed.
LOOP_ENDS_WITHIN = 120
# What Ansible sets for every template: the repository (roles that build from it) and the host's
# name (the site's default server name).
TEMPLATE_DIRS = {"board_repo_root": str(REPO), "inventory_hostname": "board-test"}


def _tasks(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _unit_templates() -> list[tuple[str, str, dict]]:
    """(role, src, the task's vars) of every template task whose dest is a systemd unit or
    drop-in."""
    found = []
    for tasks_file in sorted(ROLES.glob("*/tasks/**/*.yml")):
        role = tasks_file.relative_to(ROLES).parts[0]
        for task in _tasks(yaml.safe_load(tasks_file.read_text())):
            args = task.get("ansible.builtin.template")
            if not isinstance(args, dict):
                continue
            dest = str(args.get("dest", ""))
            if "/etc/systemd/system/" not in dest and "dropin_dir" not in dest:
                continue
            src, task_vars = str(args["src"]), task.get("vars") or {}
            if "item" in src:  # one template per item of a literal list
                for item in task["loop"]:
                    found.append((role, re.sub(r"\{\{\s*item\s*\}\}", item, src), task_vars))
            else:
                found.append((role, src, task_vars))
    return found


def _template_path(role: str, src: str, variables: dict) -> Path:
    if "{{" in src:
        src = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(variables[m.group(1)]), src)
    path = Path(src)
    return path if path.is_absolute() else ROLES / role / "templates" / src


def _settings(text: str) -> dict[str, dict[str, str]]:
    """section -> key -> value of a rendered unit file."""
    sections: dict[str, dict[str, str]] = {}
    section = ""
    for line in text.splitlines():
        if re.fullmatch(r"\[\w+\]", line):
            section = line[1:-1]
        elif (match := re.fullmatch(r"(\w+)=(.*)", line)) is not None:
            sections.setdefault(section, {})[match.group(1)] = match.group(2)
    return sections


UNITS = _unit_templates()


def _rendered(role: str, src: str, task_vars: dict) -> str:
    """The template as the role's task renders it, with the role's defaults."""
    variables = role_variables(role, **TEMPLATE_DIRS, **task_vars)
    return render(_template_path(role, src, variables), variables, ansible_managed="managed")


def test_the_roles_install_restarting_units():
    # The self-healing units this test must see: a renamed task or template would hide them.
    restarting = {Path(src).name for role, src, v in UNITS if "Restart" in _rendered(role, src, v)}
    assert {"gunicorn.service.j2", "board-metrics.service.j2", "restart.conf.j2"} <= restarting


@pytest.mark.parametrize(
    ("role", "src", "task_vars"),
    UNITS,
    ids=[f"{role}:{Path(src).name}" for role, src, _ in UNITS],
)
def test_a_restarting_unit_stops_a_crash_loop(role, src, task_vars):
    settings = _settings(_rendered(role, src, task_vars))
    service = settings.get("Service", {})
    if "Restart" not in service and "RestartSec" not in service:
        return  # starts once; nothing to loop
    unit = settings.get("Unit", {})
    assert "StartLimitIntervalSec" in unit and "StartLimitBurst" in unit, (
        f"{src} restarts its service but sets no start limit in [Unit]: a start that always "
        "fails loops for ever"
    )
    interval = int(unit["StartLimitIntervalSec"])
    burst = int(unit["StartLimitBurst"])
    restart_sec = int(service.get("RestartSec", "0").removesuffix("s") or 0)
    assert burst >= 1
    # The starts of a loop whose starts fail at once are RestartSec apart: the burst's last one
    # and the one refused must land inside the window.
    assert burst * restart_sec < interval, (src, burst, restart_sec, interval)
    assert burst * restart_sec <= LOOP_ENDS_WITHIN, (src, burst, restart_sec)
