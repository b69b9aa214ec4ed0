"""The shipped production inventory loads only real settings: the vault's template, whose
CHANGE_ME placeholders the roles refuse, is not among the files Ansible reads.

Runs ansible-inventory on the controller over deploy/inventories/production as shipped.
"""

from __future__ import annotations

import json
import re
import subprocess

from .playbook import BIN, DEPLOY

PRODUCTION = DEPLOY / "inventories" / "production"


def _values(data) -> list:
    if isinstance(data, dict):
        return [v for value in data.values() for v in _values(value)]
    if isinstance(data, list):
        return [v for value in data for v in _values(value)]
    return [data]


def test_production_group_vars_load_no_placeholder():
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(PRODUCTION), "--list"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=True,
    )
    # Every file of the inventory directory is read as inventory: nothing there but inventory.
    assert "WARNING" not in out.stderr, out.stderr
    hostvars = json.loads(out.stdout)["_meta"]["hostvars"]
    assert hostvars, out.stdout
    for host, variables in hostvars.items():
        # The group_vars did load (a setting of vars.yml), and none of them is a placeholder.
        assert "base_ssh_port" in variables, (host, variables)
        assert "CHANGE_ME" not in _values(variables), (host, variables)
        assert not [name for name in variables if name.startswith("vault_")], (host, variables)


def test_the_vault_template_is_where_the_readme_copies_it_from():
    template = DEPLOY / "inventories" / "vault.example.yml"
    readme = (DEPLOY.parent / "README.md").read_text()
    assert "cp inventories/vault.example.yml" in readme
    assert "vault_app_secret_key: CHANGE_ME" in template.read_text()


def test_the_vault_template_names_every_vault_value_group_vars_reads():
    # A value group_vars reads without a default stops a run when the vault lacks it; an
    # optional one is listed commented out, so the template is where an operator finds them all.
    read = set()
    for path in [*(DEPLOY / "group_vars").rglob("*.yml"), *PRODUCTION.rglob("*.yml")]:
        read |= set(re.findall(r"\{\{\s*(vault_\w+)", path.read_text()))
    template = (DEPLOY / "inventories" / "vault.example.yml").read_text()
    named = set(re.findall(r"^#? ?(vault_\w+):", template, re.MULTILINE))
    assert read, "group_vars reads no vault value"
    assert sorted(read - named) == [], "vault values missing from inventories/vault.example.yml"
