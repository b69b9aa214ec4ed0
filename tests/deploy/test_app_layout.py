"""The app's layout on the servers (its root, Gunicorn's socket, the management wrapper) is
written once, in the board role's defaults, and every role derives its paths from there: a copy
elsewhere in deploy/ or docker/ fails here, the Dockerfile and docker-compose.yml (which cannot
template) are held to it, and each role, run alone from another directory or by the playbooks,
resolves its paths from the board role's values and follows them when the inventory moves them."""

from __future__ import annotations

import json
import re

import yaml
from support.paths import REPO, ROLES, repo_files

from renderer import role_defaults

from .playbook import SECRETS, run_outside_deploy, run_playbook

HOME = ROLES / "board" / "defaults" / "main.yml"
LAYOUT = role_defaults("board")
# What each role derives from it, and the board role's value it must equal.
DERIVED = {
    "app_root": "board_app_root",
    "app_gunicorn_socket_path": "board_gunicorn_socket_path",
    "app_manage_command": "board_manage_command",
    "base_app_home": "board_app_root",
    "nginx_app_socket": "board_gunicorn_socket_path",
    "release_app_root": "board_app_root",
    "release_socket_path": "board_gunicorn_socket_path",
    "release_manage_command": "board_manage_command",
}
ROLES_USING_IT = ("app", "base", "nginx", "release")


def _files(*folders: str):
    for path in repo_files(*folders):
        if path != HOME and path.suffix not in (".pem", ".png"):
            yield path


def test_the_layout_is_written_in_the_board_roles_defaults_only():
    values = [LAYOUT[name] for name in ("board_app_root", "board_gunicorn_socket_path")]
    values.append(LAYOUT["board_manage_command"])
    copies = [
        f"{path.relative_to(REPO)}: {value}"
        for path in _files("deploy", "docker", "nginx", "systemd", "monitoring", "scripts")
        for value in values
        if value in path.read_text(errors="replace")
    ]
    assert copies == [], "derive these from the board role's defaults (board_app_root, ...)"


def test_the_container_files_keep_the_servers_layout():
    # The Dockerfile and docker-compose.yml cannot template: every path of theirs under /srv is
    # under board_app_root, the servers' layout the image keeps.
    root = LAYOUT["board_app_root"]
    for name in ("Dockerfile", "docker-compose.yml"):
        paths = re.findall(r"/srv/[\w./-]*", (REPO / name).read_text())
        assert [p for p in paths if p != root and not p.startswith(root + "/")] == [], name
    # The image's STATIC_ROOT is the nginx role's, which the nginx image serves.
    static = role_defaults("nginx")["nginx_static_root"]
    assert f"STATIC_ROOT={static}" in (REPO / "Dockerfile").read_text()
    assert static == LAYOUT["board_app_root"] + "/shared/static"


def test_the_roles_depend_on_the_board_role_for_it():
    for role in ROLES_USING_IT:
        meta = yaml.safe_load((ROLES / role / "meta" / "main.yml").read_text())
        assert {"role": "board"} in meta["dependencies"], role


def _resolve_alone(tmp_path, inventory_vars: dict) -> dict:
    """Each role alone, in a play of its own, from a directory outside deploy/ (no group_vars):
    the derived paths as Ansible resolves them."""
    names = [*DERIVED, "nginx_static_root"]
    plays = [
        {
            "name": f"Resolve the {role} role's paths alone",
            "hosts": "localhost",
            "gather_facts": False,
            "roles": [role],
            "tasks": [
                {
                    "name": "Write the paths down",
                    "tags": ["paths"],
                    "ansible.builtin.copy": {
                        "content": "{{ paths | to_json }}",
                        "dest": str(tmp_path / f"{role}.json"),
                        "mode": "0600",
                    },
                    "vars": {
                        "paths": {n: f"{{{{ {n} }}}}" for n in names if n.startswith(role + "_")}
                    },
                }
            ],
        }
        for role in ROLES_USING_IT
    ]
    run_outside_deploy(tmp_path, plays, inventory_vars)
    found = {}
    for role in ROLES_USING_IT:
        found.update(json.loads((tmp_path / f"{role}.json").read_text()))
    return found


def _expected(layout: dict) -> dict:
    return {
        **{name: layout[home] for name, home in DERIVED.items()},
        "nginx_static_root": layout["board_app_root"] + "/shared/static",
    }


def test_each_role_alone_derives_its_paths_from_the_board_role(tmp_path):
    assert _resolve_alone(tmp_path, {}) == _expected(LAYOUT)


def test_each_role_alone_follows_the_layout_the_inventory_sets(tmp_path):
    moved = {"board_app_root": "/opt/forum", "board_app_name": "forum"}
    assert _resolve_alone(tmp_path, moved) == _expected(
        {
            **moved,
            "board_gunicorn_socket_path": "/run/forum/gunicorn.sock",
            "board_manage_command": "/usr/local/sbin/forum-manage",
        }
    )


PLAYS = """
- name: As site.yml's provisioning play
  hosts: solo
  gather_facts: false
  roles: [base, app, nginx]
  tasks:
    - name: Write the paths down
      tags: [paths]
      ansible.builtin.copy:
        content: "{{ {'app_root': app_root, 'base_app_home': base_app_home,
                      'nginx_static_root': nginx_static_root, 'nginx_app_socket': nginx_app_socket,
                      'app_gunicorn_socket_path': app_gunicorn_socket_path,
                      'app_manage_command': app_manage_command} | to_json }}"
        dest: "{{ out }}/site.json"
        mode: "0600"
- name: As deploy.yml and rollback.yml (the release role without the app role)
  hosts: solo
  gather_facts: false
  roles: [release]
  tasks:
    - name: Write the paths down
      tags: [paths]
      ansible.builtin.copy:
        content: "{{ {'release_app_root': release_app_root,
                      'release_socket_path': release_socket_path,
                      'release_manage_command': release_manage_command} | to_json }}"
        dest: "{{ out }}/release.json"
        mode: "0600"
"""


def test_the_playbooks_resolve_the_same_paths_with_the_inventorys_layout(tmp_path):
    # From deploy/, with its group_vars, the layout set where an operator sets it (the
    # inventory's group_vars/all, above the roles' defaults).
    inv = tmp_path / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        "board_servers:\n  vars: {ansible_connection: local}\n  children:\n"
        "    db_servers: {hosts: {solo: }}\n    app_servers: {hosts: {solo: }}\n"
    )
    moved = {"board_app_root": "/opt/forum", "board_app_name": "forum"}
    (inv / "group_vars" / "all" / "layout.yml").write_text(yaml.safe_dump(moved))
    run = run_playbook(
        PLAYS,
        f"app-layout-{tmp_path.name}",
        str(inv),
        {**SECRETS, "out": str(tmp_path)},
        *("--tags", "paths", "--skip-tags", "always"),
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    found = {
        **json.loads((tmp_path / "site.json").read_text()),
        **json.loads((tmp_path / "release.json").read_text()),
    }
    expected = _expected(
        {
            **moved,
            "board_gunicorn_socket_path": "/run/forum/gunicorn.sock",
            "board_manage_command": "/usr/local/sbin/forum-manage",
        }
    )
    assert found == expected
