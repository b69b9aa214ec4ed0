"""Gunicorn's socket recovery (forget failed starts, start the socket) has one home, the app
role's tasks/gunicorn_socket.yml: the app role's handler for a changed socket unit and the release
role's switch both run it, each in its own order of systemctl calls.

The playbooks run on the controller with a stand-in `systemctl` first on PATH that logs its
arguments (nothing on this machine is started or stopped).
"""

from __future__ import annotations

import subprocess

from .playbook import DEPLOY, run_playbook

FAKE_SYSTEMCTL = """#!/bin/bash
echo "$*" >> "$(dirname "$0")/calls"
if [ "$1" = show ]; then
    printf 'Id=%s\\nActiveState=inactive\\nSubState=dead\\n' "$3"
    printf 'LoadState=loaded\\nUnitFileState=enabled\\n'
fi
"""


def _calls(tmp_path, tasks: str, extra: dict | None = None) -> list[str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "systemctl").write_text(FAKE_SYSTEMCTL)
    (bindir / "systemctl").chmod(0o755)
    playbook = f"""
- name: Run Gunicorn's socket handling against a stand-in systemctl
  hosts: localhost
  connection: local
  gather_facts: false
  environment:
    PATH: "{bindir}:/usr/bin:/bin"
  tasks:
{tasks}
"""
    run = run_playbook(playbook, f"gunicorn-socket-{tmp_path.name}", "localhost,", extra)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    calls = (bindir / "calls").read_text().splitlines()
    return [call for call in calls if not call.startswith("show ")]


def test_a_changed_socket_unit_stops_forgets_and_starts_again(tmp_path):
    tasks = """
    - name: Load the app role's handlers
      ansible.builtin.import_role:
        name: app
        tasks_from: gunicorn_socket
      tags: [never]
    - name: A release is installed
      ansible.builtin.set_fact:
        app_current: {stat: {exists: true}}
    - name: Change the socket unit
      ansible.builtin.debug:
        msg: changed
      changed_when: true
      notify: Restart gunicorn socket
"""
    assert _calls(tmp_path, tasks) == [
        "stop gunicorn.socket gunicorn.service",
        "daemon-reload",
        "reset-failed gunicorn.socket gunicorn.service board-metrics.service",
        "start gunicorn.socket",
        "start gunicorn.service",
    ]


def test_a_switch_forgets_the_failed_starts_and_starts_the_socket_before_the_reload(tmp_path):
    root = tmp_path / "srv"
    (root / "releases" / "0123abc").mkdir(parents=True)
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout
    tasks = """
    - name: Switch to the release
      block:
        - name: Run the release role's switch
          ansible.builtin.import_role:
            name: release
            tasks_from: shared/switch.yml
      rescue:
        # No Gunicorn answers on the socket here: the switch stops at its probe.
        - name: Check that the switch got as far as its probe
          ansible.builtin.assert:
            that: ansible_failed_task.name.startswith("Wait until Gunicorn's workers serve")
"""
    extra = {
        "release_app_root": str(root),
        "release_app_group": group.strip(),
        "release_target_sha": "0123abc",
        "release_socket_path": str(tmp_path / "no.sock"),
        "release_switch_timeout": 1,
    }
    assert _calls(tmp_path, tasks, extra) == [
        "reset-failed gunicorn.socket gunicorn.service board-metrics.service",
        "start gunicorn.socket",
        "reload-or-restart gunicorn.service",
    ]


def test_the_socket_recovery_is_written_once():
    homes = sorted(
        str(path.relative_to(DEPLOY))
        for path in (DEPLOY / "roles").rglob("*.yml")
        if "reset-failed, gunicorn" in path.read_text()
    )
    assert homes == ["roles/app/tasks/gunicorn_socket.yml"]
