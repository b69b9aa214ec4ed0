"""The servers are grouped by job, and the playbooks refuse an inventory that is not.

Runs ansible-inventory and ansible-playbook on the controller with the real inventories and
playbooks of deploy/. The refusal comes from a play on localhost, before any server is
contacted: the hosts below are documentation addresses (192.0.2.0/24) that nothing answers.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.paths import DEPLOY
from support.tools import VENV_BIN as BIN

# What ansible-playbook needs to fail fast if a play did try to reach the hosts.
FAST_SSH = "-o ConnectTimeout=2 -o BatchMode=yes"


def _inventory(path: Path) -> dict:
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(path), "--list"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _group_hosts(inventory: dict, group: str) -> set[str]:
    """Hosts of a group and of its children (ansible-inventory --list lists them apart)."""
    entry = inventory.get(group, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts |= _group_hosts(inventory, child)
    return hosts


def test_example_inventory_is_one_server_in_every_group():
    inventory = _inventory(DEPLOY / "inventories" / "production" / "hosts.yml")
    assert set(inventory["board_servers"]["children"]) >= {"db_servers", "app_servers"}
    assert _group_hosts(inventory, "db_servers") == {"board-prod-1"}
    assert _group_hosts(inventory, "app_servers") == {"board-prod-1"}
    assert _group_hosts(inventory, "monitoring_servers") == {"board-prod-1"}
    assert inventory["_meta"]["hostvars"]["board-prod-1"]["ansible_host"] == "192.0.2.10"


def _run_playbook(playbook: str, hosts_yml: str, tmp_path: Path) -> subprocess.CompletedProcess:
    inv = tmp_path / "hosts.yml"
    inv.write_text(hosts_yml)
    return subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(inv),
            "--ssh-common-args",
            FAST_SSH,
            playbook,
        ],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


# The layout every inventory had before the groups by job: one flat group.
FLAT_INVENTORY = """---
board_servers:
  hosts:
    old-host:
      ansible_host: 192.0.2.20
"""
# App servers but no database server.
NO_DB_INVENTORY = """---
board_servers:
  children:
    app_servers:
      hosts:
        app-1:
          ansible_host: 192.0.2.21
"""


@pytest.mark.parametrize("playbook", ["site.yml", "deploy.yml", "rollback.yml"])
@pytest.mark.parametrize("hosts_yml", [FLAT_INVENTORY, NO_DB_INVENTORY], ids=["flat", "no-db"])
def test_playbooks_refuse_an_inventory_without_the_groups(tmp_path, playbook, hosts_yml):
    run = _run_playbook(playbook, hosts_yml, tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    assert "must group the servers by job" in output, output[-3000:]
    assert "db_servers" in output and "app_servers" in output
    # An operator with a managed database learns what to set, not just "group by job".
    external = "external managed PostgreSQL, leave out db_servers and set board_db_external_host"
    assert external in output
    # Refused before any server was contacted.
    assert "UNREACHABLE" not in output, output[-3000:]
    assert "Gathering Facts" not in output, output[-3000:]


CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"


def _external(db_vars: str, with_db_server: bool = False) -> str:
    db = (
        "    db_servers:\n      hosts:\n        db-1:\n          ansible_host: 192.0.2.30\n"
        if with_db_server
        else ""
    )
    return (
        "---\nboard_servers:\n"
        f"  vars:\n{db_vars}"
        "  children:\n" + db + "    app_servers:\n      hosts:\n"
        "        app-1:\n          ansible_host: 192.0.2.21\n"
    )


CA_VARS = "    board_db_external_ca_certificate: |\n" + "".join(
    f"      {line}\n" for line in CA.splitlines()
)


@pytest.mark.parametrize(
    ("db_vars", "with_db_server", "refusal"),
    [
        # A host name: the Gunicorn sandbox needs the addresses it answers from.
        (
            "    board_db_external_host: db.provider.example\n" + CA_VARS,
            False,
            "board_db_external_networks: the addresses or CIDRs it answers from",
        ),
        # No CA: verify-full has nothing to check the provider's certificate against.
        (
            "    board_db_external_host: 192.0.2.40\n",
            False,
            "needs board_db_external_ca_certificate",
        ),
        # Both a database server and an external database: which one would the app use?
        (
            "    board_db_external_host: 192.0.2.40\n" + CA_VARS,
            True,
            "and an external database (board_db_external_host=192.0.2.40): keep one of them",
        ),
    ],
    ids=["host-name-without-networks", "no-ca", "both"],
)
def test_playbooks_refuse_an_external_database_they_cannot_reach_safely(
    tmp_path, db_vars, with_db_server, refusal
):
    run = _run_playbook("site.yml", _external(db_vars, with_db_server), tmp_path)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, output[-3000:]
    assert refusal in output, output[-3000:]
    assert "UNREACHABLE" not in output, output[-3000:]
    assert "Gathering Facts" not in output, output[-3000:]


def _with_monitoring(monitoring_hosts: str) -> str:
    return (
        "---\nboard_servers:\n  children:\n"
        "    db_servers:\n      hosts:\n        db-1:\n          ansible_host: 192.0.2.30\n"
        "    app_servers:\n      hosts:\n        app-1:\n          ansible_host: 192.0.2.21\n"
        "monitoring:\n  children:\n    monitoring_servers:\n      hosts:\n" + monitoring_hosts
    )


@pytest.mark.parametrize(
    "monitoring_hosts",
    [
        # Two Prometheus servers: which one pages?
        "        db-1:\n        app-1:\n",
        # A host site.yml never provisions (outside board_servers).
        "        watcher:\n          ansible_host: 192.0.2.50\n",
    ],
    ids=["two", "outside-board-servers"],
)
def test_playbooks_refuse_a_monitoring_group_they_cannot_provision(tmp_path, monitoring_hosts):
    run = _run_playbook("site.yml", _with_monitoring(monitoring_hosts), tmp_path)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, output[-3000:]
    assert "monitoring_servers holds the one server" in output, output[-3000:]
    assert "UNREACHABLE" not in output, output[-3000:]


def _with_backup(backup_hosts: str, with_db_server: bool = True) -> str:
    if with_db_server:
        db = "    db_servers:\n      hosts:\n        db-1:\n          ansible_host: 192.0.2.30\n"
        external = ""
    else:
        db = ""
        external = "  vars:\n    board_db_external_host: 192.0.2.40\n"
    return (
        "---\nboard_servers:\n"
        + external
        + "  children:\n"
        + db
        + "    app_servers:\n      hosts:\n        app-1:\n          ansible_host: 192.0.2.21\n"
        "    backup_servers:\n      hosts:\n" + backup_hosts
    )


@pytest.mark.parametrize(
    ("backup_hosts", "with_db_server"),
    [
        # The database server keeping its own off-host copy: it is not off the host.
        ("        db-1:\n", True),
        # Two backup servers: repo2 is one repository.
        ("        app-1:\n        backup-2:\n          ansible_host: 192.0.2.60\n", True),
        # No database server to back up.
        ("        backup-1:\n          ansible_host: 192.0.2.60\n", False),
    ],
    ids=["the-database-server", "two", "no-database-server"],
)
def test_playbooks_refuse_a_backup_group_they_cannot_use(tmp_path, backup_hosts, with_db_server):
    run = _run_playbook("site.yml", _with_backup(backup_hosts, with_db_server), tmp_path)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, output[-3000:]
    assert "backup_servers holds the one server" in output, output[-3000:]
    assert "UNREACHABLE" not in output, output[-3000:]
    assert "Gathering Facts" not in output, output[-3000:]
