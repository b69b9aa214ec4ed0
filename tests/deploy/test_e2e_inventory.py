"""The end-to-end suites deploy with the shipped production group_vars, the test layer on top.

Builds the suites' inventory (tests/support/inventory.py) with a placeholder host and reads the
host's variables with ansible-inventory, as Ansible resolves them.
"""

from __future__ import annotations

import json
import subprocess

import yaml
from support.inventory import PRODUCTION_INVENTORY, TEST_INVENTORY, write_layered_group_vars

from .playbook import BIN, DEPLOY


def _settings(inventory) -> dict:
    out = {}
    for path in sorted((inventory / "group_vars" / "all").glob("*.yml")):
        if path.name != "vault.yml":
            out.update(yaml.safe_load(path.read_text()) or {})
    return out


def test_suites_get_every_production_setting_unless_the_test_layer_overrides_it(tmp_path):
    inv = tmp_path / "inventory"
    gv = write_layered_group_vars(inv)
    (gv / "testbed.yml").write_text("---\nbase_apt_proxy: http://10.0.0.1:8888\n")
    (inv / "hosts.yml").write_text("---\nboard_servers:\n  hosts:\n    board-test:\n")
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(inv), "--host", "board-test"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=True,
    )
    effective = json.loads(out.stdout)
    production, test = _settings(PRODUCTION_INVENTORY), _settings(TEST_INVENTORY)
    assert production and test
    expected = {**production, **test, "base_apt_proxy": "http://10.0.0.1:8888"}
    assert {name: effective.get(name) for name in expected} == expected
    # The test layer replaces only what the tests need (a certificate they can make, their
    # site's name): never a setting equal to production's, which would hide a change to it.
    assert not [name for name in test if production.get(name) == test[name]]
