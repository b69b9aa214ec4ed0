"""A role entered with tasks_from checks its arguments there too: Ansible validates the entry point
that tasks_from names (meta/argument_specs.yml), not main, so each one the playbooks and roles use
has its spec, with main's options (the same defaults) or, when its tasks read none of them, none.
Reads the files only; test_role_specs_refuse_wrong_values.py runs the checks."""

from __future__ import annotations

from .role_specs import ROLES_DIR, defaults, entry_points, options, tasks_from_entries


def test_every_role_entered_with_tasks_from_has_a_spec_for_that_entry_point():
    entered = tasks_from_entries()
    assert {(role, entry) for _, role, entry in entered} >= {
        ("release", "rollback"),
        ("release", "restore"),
        ("app", "gunicorn_socket"),
        ("base", "sshd"),
        ("postgresql", "external"),
    }
    missing = [
        (where, role, entry) for where, role, entry in entered if entry not in entry_points(role)
    ]
    assert missing == [], "tasks_from names an entry point without a spec (or with .yml)"


def test_each_entry_point_has_its_task_file_and_mains_options_or_none_it_reads():
    for role in sorted(path.name for path in ROLES_DIR.iterdir()):
        for entry, spec in entry_points(role).items():
            tasks = ROLES_DIR / role / "tasks" / f"{entry}.yml"
            assert tasks.is_file(), f"{role}: entry point {entry} has no tasks/{entry}.yml"
            assert spec.get("short_description"), (role, entry)
            if entry == "main" or options(role, entry) == options(role):
                continue
            assert options(role, entry) == {}, f"{role}: {entry} declares other options than main"
            read = [name for name in defaults(role) if name in tasks.read_text()]
            assert read == [], f"{role}: {entry} reads {read} but declares no options"
