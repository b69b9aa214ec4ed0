"""The inventory the end-to-end suites deploy with: what a user gets, plus the test layer.

A user copies inventories/production, puts their hosts in hosts.yml and their secrets in
vault.yml (README, "Deploy to a server"). The suites do the same with their test hosts, and add
inventories/test's overrides (a self-signed certificate, the test site's name, rates the tests
reach) on top. So a shipped production default that breaks a documented layout fails a suite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from .paths import DEPLOY

PRODUCTION_INVENTORY = DEPLOY / "inventories" / "production"
TEST_INVENTORY = DEPLOY / "inventories" / "test"
LAYERS = (("1-production", PRODUCTION_INVENTORY), ("2-test", TEST_INVENTORY))


def write_layered_group_vars(inv: Path) -> Path:
    """The group_vars users get: inventories/production's as shipped (never a local vault.yml),
    then inventories/test's overrides on top; returns group_vars/all, where the run's own files
    (hosts are in hosts.yml, the apt proxy in testbed.yml, secrets in vault.yml) go last.

    Ansible reads a group_vars directory's files and subdirectories in name order, a later
    value winning: 1-production/, then 2-test/, then the run's files."""
    for layer, source in LAYERS:
        for group in sorted((source / "group_vars").iterdir()):
            shutil.copytree(
                group,
                inv / "group_vars" / group.name / layer,
                ignore=shutil.ignore_patterns("vault.yml", "vault.example.yml"),
            )
    gv = inv / "group_vars" / "all"
    gv.mkdir(parents=True, exist_ok=True)
    return gv


# The site's name in the test inventory (its certificate is issued for it).
SERVER_NAME = yaml.safe_load((TEST_INVENTORY / "group_vars" / "all" / "nginx.yml").read_text())[
    "nginx_server_name"
]
# The single-server inventory's hostname (tests/e2e); the lab names its own.
INVENTORY_HOST = "board-test"
