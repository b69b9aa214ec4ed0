"""The app's environment file (shared/.env) as site.yml renders it: the app role's env.j2 with the
real group_vars wiring and the roles' defaults, on the controller (nothing is installed)."""

from __future__ import annotations

import pytest

from .playbook import SECRETS, run_playbook

PLAYBOOK = """
- name: Render the app's environment file
  hosts: board_servers
  gather_facts: false
  # As in site.yml: one play, so each role's defaults are there for the wiring; no role task runs.
  roles:
    - app
    - nginx
  tasks:
    - name: Render shared/.env
      tags: [env]
      ansible.builtin.template:
        src: roles/app/templates/env.j2
        dest: "{{ out_dir }}/{{ inventory_hostname }}.env"
        mode: "0600"
"""

INVENTORY = """
board_servers:
  vars: {{ansible_connection: local}}
  children:
    db_servers:
      hosts:
        solo: {{ansible_host: 10.0.0.5}}
    app_servers:
      hosts:
        solo: {{{extra}}}
"""


def render_env(tmp_path, host_vars: str = "") -> dict[str, str]:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY.format(extra=host_vars))
    run = run_playbook(
        PLAYBOOK,
        f"app-env-{tmp_path.name}",
        str(inventory),
        {**SECRETS, "out_dir": str(tmp_path)},
        *("--tags", "env", "--skip-tags", "always"),
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    lines = (tmp_path / "solo.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.parametrize("size", ["1m", "8m", "512k"])
def test_the_app_refuses_bodies_over_the_size_nginx_admits(tmp_path, size):
    """One setting, nginx_client_max_body_size, limits both: a larger nginx limit must reach
    Django too, or nginx would pass bodies the app then refuses (or the other way round)."""
    host_vars = "" if size == "1m" else f"nginx_client_max_body_size: {size}"
    assert render_env(tmp_path, host_vars)["REQUEST_BODY_MAX"] == f'"{size}"'
