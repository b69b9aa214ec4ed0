"""nginx-validate-site swaps the http level's sites include for the other enabled sites plus the
candidate: the include it looks for and the sites it lists come from nginx_sites_include, the
variable nginx.conf is rendered with, so the two cannot disagree. Renders both with Ansible on
the controller, then runs the script's own grep and sed on the rendered nginx.conf."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from support.paths import ROLES

from .playbook import run_playbook

DEBIAN = yaml.safe_load((ROLES / "nginx" / "vars" / "Debian.yml").read_text())

PLAYBOOK = """
- name: Render nginx.conf and nginx-validate-site
  hosts: localhost
  gather_facts: false
  roles:
    - role: nginx
      tags: [never]
  tasks:
    - name: Render them
      tags: [render]
      ansible.builtin.template:
        src: "roles/nginx/templates/{{ item }}.j2"
        dest: "{{ out }}/{{ item }}"
        mode: "0600"
      loop: [nginx.conf, nginx-validate-site]
"""


@pytest.mark.parametrize("include", ["/etc/nginx/sites-enabled/*", "/etc/nginx/conf.d/*.conf"])
def test_the_script_finds_and_replaces_the_include_nginx_conf_has(tmp_path, include):
    run = run_playbook(
        PLAYBOOK,
        f"validate-site-{tmp_path.name}",
        "localhost,",
        {
            "out": str(tmp_path),
            "nginx_sites_include": include,
            "ansible_connection": "local",
            # The per-distribution value, which the role's first task loads.
            "nginx_user": DEBIAN["nginx_user"],
        },
        *("--tags", "render", "--skip-tags", "always"),
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    script = (tmp_path / "nginx-validate-site").read_text()
    pattern = re.search(r"^pattern='(.*)'$", script, re.M).group(1)
    assert f"for enabled in {include}; do" in script
    # The script's grep finds nginx.conf's include, and its sed replaces exactly that line.
    conf = tmp_path / "nginx.conf"
    assert subprocess.run(["grep", "-q", pattern, str(conf)], check=False).returncode == 0
    swapped = subprocess.run(
        ["sed", f"s|{pattern}|include /tmp/sites.conf;|", str(conf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"include {include};" not in swapped
    assert swapped.count("include /tmp/sites.conf;") == 1
