"""The base role's sysctl file, rendered here on the controller from the role's template: every
key of the role's list once, the operator's overrides merged over it."""

from __future__ import annotations

import re

import yaml

from .playbook import DEPLOY, run_playbook

RENDER = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - roles/base/vars/main.yml
  tasks:
    - ansible.builtin.template:
        src: roles/base/templates/sysctl-board-hardening.conf.j2
        dest: "{{ sysctl_file }}"
        mode: "0644"
"""


def test_sysctl_file_holds_the_role_list_with_the_overrides(tmp_path):
    role_list = yaml.safe_load((DEPLOY / "roles/base/vars/main.yml").read_text())["__base_sysctl"]
    overrides = {"kernel.sysrq": 16, "vm.swappiness": 10}
    sysctl_file = tmp_path / "60-board-hardening.conf"
    run = run_playbook(
        RENDER,
        "render-sysctl",
        extra={"sysctl_file": str(sysctl_file), "base_sysctl_overrides": overrides},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = re.findall(r"^([\w.-]+)=(\S+)$", sysctl_file.read_text(), re.M)
    expected = {key: str(value) for key, value in {**role_list, **overrides}.items()}
    assert dict(lines) == expected
    assert len(lines) == len(expected)
    assert sysctl_file.read_text().startswith("#")
