"""The roles reach the repository's files outside deploy/ (systemd/, nginx/, monitoring/,
scripts/) one way: through board_repo_root, which group_vars defines once from the playbook's
directory. A role that builds a path from playbook_dir itself only works when its playbook sits
in deploy/, and ansible-lint cannot follow that path."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.paths import ROLES

from .playbook import DEPLOY, run_outside_deploy


def _files_mentioning(pattern: str, paths) -> list[str]:
    found = []
    for path in paths:
        if path.is_file() and re.search(pattern, path.read_text(errors="replace")):
            found.append(str(path.relative_to(DEPLOY)))
    return sorted(found)


def test_no_role_builds_a_path_from_the_playbook_directory():
    found = _files_mentioning(r"playbook_dir", ROLES.rglob("*"))
    assert not found, f"use board_repo_root (group_vars) or a role default derived from it: {found}"


def test_the_repository_root_is_defined_once():
    # Every playbook, group_vars and role file: the one playbook_dir is board_repo_root's value.
    files = [*DEPLOY.glob("*.yml"), *(DEPLOY / "group_vars").rglob("*.yml"), *ROLES.rglob("*")]
    found = _files_mentioning(r"playbook_dir", files)
    assert found == ["group_vars/all/main.yml"], found
    text = (DEPLOY / "group_vars/all/main.yml").read_text()
    assert re.findall(r"^(\w+):.*playbook_dir", text, re.M) == ["board_repo_root"]
    assert text.count("playbook_dir") == 1


# Each role's paths to the repository's files, through a file the role installs from there.
REPO_FILES = {
    "app": ["{{ app_systemd_templates_dir }}/gunicorn.socket.j2"],
    "nginx": [
        "{{ nginx_site_templates_dir }}/board.conf.j2",
        "{{ nginx_systemd_templates_dir }}/restart.conf.j2",
    ],
    "redis": ["{{ redis_systemd_templates_dir }}/restart.conf.j2"],
    "postgresql": ["{{ postgresql_systemd_templates_dir }}/restart.conf.j2"],
    "exporters": ["{{ exporters_systemd_templates_dir }}/restart.conf.j2"],
    "monitoring": [
        "{{ monitoring_systemd_templates_dir }}/restart.conf.j2",
        "{{ monitoring_files_dir }}/rules/api.yml",
    ],
    "release": ["{{ release_public_probe_script }}", "{{ release_build_script }}"],
}


def test_a_playbook_elsewhere_sets_only_the_repository_root(tmp_path):
    # A playbook outside deploy/ (no group_vars there): board_repo_root alone points every role
    # at the repository's files. Only the tagged task runs, as in test_topology.
    plays = [
        {
            "name": "Resolve the roles' paths from another directory",
            "hosts": "localhost",
            "gather_facts": False,
            "roles": list(REPO_FILES),
            "tasks": [
                {
                    "name": "Write the paths down",
                    "tags": ["paths"],
                    "ansible.builtin.copy": {
                        "content": "{{ paths | to_json }}",
                        "dest": str(tmp_path / "paths.json"),
                        "mode": "0600",
                    },
                    "vars": {"paths": sum(REPO_FILES.values(), [])},
                }
            ],
        }
    ]
    run_outside_deploy(tmp_path, plays)
    paths = json.loads((tmp_path / "paths.json").read_text())
    missing = [path for path in paths if not Path(path).exists()]
    assert not missing, missing
