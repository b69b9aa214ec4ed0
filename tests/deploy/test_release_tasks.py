"""The release role's task files are split by operation (deploy/, rollback/, restore/, and
shared/ for what they share), and every file is reached through an import or include that names
it literally: grep and ansible-lint follow every step, and no file is left that nothing runs."""

from __future__ import annotations

import yaml

from .playbook import DEPLOY

TASKS = DEPLOY / "roles" / "release" / "tasks"
INCLUDES = ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks")


def _task_files_named(tasks: list) -> list[str]:
    named = []
    for task in tasks or []:
        for key in ("block", "rescue", "always"):
            named += _task_files_named(task.get(key))
        named += [task[key] for key in INCLUDES if key in task]
    return named


def _entry_points() -> list[str]:
    """The release role's task files the playbooks start from (the role's main, tasks_from)."""
    entries = []
    for playbook in DEPLOY.glob("*.yml"):
        for play in yaml.safe_load(playbook.read_text()) or []:
            for role in play.get("roles", []):
                if (role.get("role") if isinstance(role, dict) else role) == "release":
                    entries.append("main.yml")
            for task in play.get("tasks", []):
                for key in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                    if task.get(key, {}).get("name") == "release":
                        entries.append(task[key].get("tasks_from", "main") + ".yml")
    return sorted(set(entries))


def test_every_include_names_a_task_file_of_the_role():
    for path in TASKS.rglob("*.yml"):
        for name in _task_files_named(yaml.safe_load(path.read_text())):
            where = path.relative_to(TASKS)
            assert "{{" not in name, f"{where} includes a file named by a variable: {name}"
            assert (TASKS / name).is_file(), f"{where} includes {name}, which does not exist"


def test_every_task_file_is_reached_from_a_playbook():
    assert _entry_points() == ["main.yml", "restore.yml", "rollback.yml"]
    reached, todo = set(), _entry_points()
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += _task_files_named(yaml.safe_load((TASKS / name).read_text()))
    files = {str(path.relative_to(TASKS)) for path in TASKS.rglob("*.yml")}
    assert files - reached == set(), "task files nothing imports or includes"


def test_the_task_files_are_grouped_by_operation():
    folders = {path.parent.name for path in TASKS.rglob("*.yml") if path.parent != TASKS}
    assert folders == {"deploy", "rollback", "restore", "shared"}
    # One entry point per operation at the top (deploy is the role's main), each with its spec.
    assert sorted(path.name for path in TASKS.glob("*.yml")) == [
        "main.yml",
        "restore.yml",
        "rollback.yml",
    ]
