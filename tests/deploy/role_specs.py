"""The roles' inputs as their files declare them: defaults/main.yml and the main entry point of
meta/argument_specs.yml."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from support.paths import DEPLOY
from support.paths import ROLES as ROLES_DIR

# The facts the roles' defaults read before their first task, those of the test servers (Debian
# 12, two vCPUs, 2 GiB): given rather than gathered, so a check is the same on any controller.
TEST_SERVER_FACTS = {
    "distribution": "Debian",
    "distribution_major_version": "12",
    "distribution_version": "12.8",
    "os_family": "Debian",
    "processor_vcpus": 2,
    "memtotal_mb": 2048,
}
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "tasks").is_dir())


def playbook_roles(playbook: str) -> list[str]:
    """The roles a playbook of deploy/ applies (its plays' `roles:`), in order."""
    names = []
    for play in yaml.safe_load((DEPLOY / playbook).read_text()):
        for entry in play.get("roles") or []:
            name = entry["role"] if isinstance(entry, dict) else entry
            if name not in names:
                names.append(name)
    return names


def playbook_role_conditions(playbook: str) -> dict[str, str | list | None]:
    """Each role of a playbook of deploy/ (its first entry, in order) with that entry's `when:`."""
    conditions: dict[str, str | list | None] = {}
    for play in yaml.safe_load((DEPLOY / playbook).read_text()):
        for entry in play.get("roles") or []:
            name = entry["role"] if isinstance(entry, dict) else entry
            if name not in conditions:
                conditions[name] = entry.get("when") if isinstance(entry, dict) else None
    return conditions


def _load(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def defaults(role: str) -> dict:
    """The role's defaults/main.yml, as written (templates unrendered)."""
    return _load(ROLES_DIR / role / "defaults" / "main.yml")


def entry_points(role: str) -> dict:
    """The entry points of the role's meta/argument_specs.yml: main, and one per tasks_from."""
    return _load(ROLES_DIR / role / "meta" / "argument_specs.yml").get("argument_specs") or {}


def main_spec(role: str) -> dict:
    """The main entry point of the role's meta/argument_specs.yml ({} when there is none)."""
    return entry_points(role).get("main") or {}


def options(role: str, entry: str = "main") -> dict:
    return (entry_points(role).get(entry) or {}).get("options") or {}


ROLE_INCLUDES = ("ansible.builtin.import_role", "ansible.builtin.include_role")


def _role_includes(tasks: list | None) -> list[dict]:
    found = []
    for task in tasks or []:
        for key in ("block", "rescue", "always"):
            found += _role_includes(task.get(key))
        found += [task[key] for key in ROLE_INCLUDES if key in task]
    return found


def tasks_from_entries() -> list[tuple[str, str, str]]:
    """(file, role, tasks_from) for every import_role/include_role of deploy/ that names one."""
    found = []
    for path in sorted(DEPLOY.glob("*.yml")):
        for play in yaml.safe_load(path.read_text()) or []:
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                for include in _role_includes(play.get(section)):
                    if "tasks_from" in include:
                        found.append((path.name, include["name"], include["tasks_from"]))
    for path in sorted(ROLES_DIR.glob("*/*/**/*.yml")):
        if path.relative_to(ROLES_DIR).parts[1] in ("tasks", "handlers"):
            for include in _role_includes(yaml.safe_load(path.read_text())):
                if "tasks_from" in include:
                    where = str(path.relative_to(DEPLOY))
                    found.append((where, include["name"], include["tasks_from"]))
    return found


def _names_in(value: object) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", yaml.safe_dump(value)))


def resolved_after_the_check(role: str) -> set[str]:
    """Defaults that need the role's per-distribution vars (vars/<distribution>*.yml, loaded by
    the role's first tasks), directly or through another such default. Ansible validates a
    role's arguments before its first task, rendering every option's value, so these cannot be
    options: the check would stop every run on an undefined variable."""
    distribution_vars = set()
    for path in (ROLES_DIR / role / "vars").glob("*.yml"):
        if path.name != "main.yml":
            distribution_vars |= set(_load(path))
    values = defaults(role)
    late = set()
    while True:
        more = {
            name
            for name, value in values.items()
            if name not in late and _names_in(value) & (distribution_vars | late)
        }
        if not more:
            return late
        late |= more
