"""sshd on the monitoring server lets an SSH tunnel reach Prometheus and Alertmanager and nothing
else. The ports are the monitoring role's defaults (or the inventory's values), which site.yml's
sshd play loads: group_vars does not keep copies of them.

Runs site.yml's sshd play itself on the controller (`ansible_connection: local`, nothing is
installed), with the base role's sshd tasks swapped for writing down what they would render.
"""

from __future__ import annotations

import json
import re

import yaml

from .playbook import DEPLOY, run_playbook

MONITORING_DEFAULTS = yaml.safe_load((DEPLOY / "roles/monitoring/defaults/main.yml").read_text())
PORTS = ("monitoring_prometheus_port", "monitoring_alertmanager_port")
INVENTORY = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers: {hosts: {db1: {ansible_host: 10.0.0.5}}}
    app_servers: {hosts: {app1: {ansible_host: 10.0.0.11}}}
"""


def _permit_open(tmp_path, inventory: str) -> dict[str, list[str]]:
    site = yaml.safe_load((DEPLOY / "site.yml").read_text())
    name = "Reconfigure sshd on one server, then on the others"
    (play,) = [p for p in site if p.get("name") == name]
    tasks = [t for t in play["tasks"] if t["name"] != "Harden sshd and log in again"]
    assert len(tasks) == len(play["tasks"]) - 1, play["tasks"]
    tasks.append(
        {
            "name": "Write down what sshd would permit",
            "ansible.builtin.copy": {
                "content": "{{ base_ssh_permit_open | to_json }}",
                "dest": "{{ out_dir }}/{{ inventory_hostname }}.json",
                "mode": "0600",
            },
        }
    )
    play = {**play, "tasks": tasks, "become": False, "gather_facts": False}
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(inventory)
    run = run_playbook(
        yaml.safe_dump([play], sort_keys=False),
        f"sshd-tunnel-{tmp_path.name}",
        str(hosts),
        {"out_dir": str(tmp_path)},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}


def test_the_monitoring_server_permits_the_monitoring_roles_ports(tmp_path):
    ports = [MONITORING_DEFAULTS[name] for name in PORTS]
    assert _permit_open(tmp_path, INVENTORY) == {
        "db1": [f"127.0.0.1:{port}" for port in ports],
        "app1": [],
    }


def test_ports_set_in_the_inventory_are_the_ones_permitted(tmp_path):
    inventory = INVENTORY.replace(
        "{ansible_connection: local}",
        "{ansible_connection: local, monitoring_prometheus_port: 19090, "
        "monitoring_alertmanager_port: 19093}",
    )
    assert _permit_open(tmp_path, inventory)["db1"] == ["127.0.0.1:19090", "127.0.0.1:19093"]


def test_group_vars_keep_no_copy_of_the_monitoring_ports():
    text = "\n".join(p.read_text() for p in (DEPLOY / "group_vars").rglob("*.yml"))
    copies = [name for name in PORTS if re.search(rf"\b{MONITORING_DEFAULTS[name]}\b", text)]
    assert not copies, f"group_vars repeats the monitoring role's defaults: {copies}"
