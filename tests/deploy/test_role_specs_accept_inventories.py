"""The inventories the project ships and tests with pass every role's argument spec, so the specs
never stop a real run: each host's values (group_vars, the inventory, the roles' defaults and
vars, rendered as Ansible renders them for the role's own check) have the declared types and
choices.

Runs ansible-playbook on the controller (connection local, a test server's facts given, only
checks run, nothing is changed): a playbook derived from the plays of site.yml, deploy.yml,
rollback.yml and restore.yml, with the same hosts, roles (their defaults and vars), play variables,
conditions and role variables, checks each role's arguments where and in the order those
playbooks hand them over (at the entry point tasks_from names, for a role a task enters), loading
each role's per-distribution vars after it as its first tasks do. Hosts:
deploy/inventories/production as a user completes it (a vault with every secret), the end-to-end
suites' single-server and three-server inventories, written by their own writers with placeholder
addresses, and the three-server one's app servers with an external database, as its last step.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from e2e.server_inventory import write_test_inventory
from e2e_multihost.cluster import INVENTORY_HOSTS
from e2e_multihost.lab_inventory import write_lab_inventory
from support.inventory import PRODUCTION_INVENTORY
from support.vault import write_vault

from .playbook import DEPLOY, run_playbook
from .role_specs import ROLES_DIR, TEST_SERVER_FACTS, options, playbook_roles

PLAYBOOKS = ("site.yml", "deploy.yml", "rollback.yml", "restore.yml")
ROLE_INCLUDES = ("ansible.builtin.import_role", "ansible.builtin.include_role")
TAG = "role-specs"


def _server(address: str, workdir: Path) -> SimpleNamespace:
    return SimpleNamespace(
        ip=address, key_path=workdir / "id_ed25519", known_hosts=workdir / "known_hosts"
    )


def _bed(**more) -> SimpleNamespace:
    return SimpleNamespace(proxy_url="http://10.0.0.1:3142", host_ip="10.0.0.1", **more)


def _production(inv: Path) -> None:
    # As the README has a user do it: a copy of inventories/production, plus a vault.
    shutil.copytree(PRODUCTION_INVENTORY, inv)


def _single(inv: Path) -> None:
    write_test_inventory(_bed(**vars(_server("10.0.0.2", inv))), inv)


def _lab(inv: Path) -> None:
    addresses = {role: f"10.0.0.{10 + i}" for i, role in enumerate(INVENTORY_HOSTS)}
    servers = {role: _server(address, inv) for role, address in addresses.items()}
    write_lab_inventory(_bed(servers=servers), inv)


def _lab_external(inv: Path) -> None:
    # As the three-server suite's external database step: its app servers, no db_servers, the
    # provider's database named in the inventory.
    _lab(inv)
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    # (No database server to back up, so no backup server either.)
    del hosts["board_servers"]["children"]["db_servers"]
    del hosts["board_servers"]["children"]["backup_servers"]
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    external = {
        "board_db_external_host": "10.0.0.10",
        "board_db_external_port": 5433,
        "board_db_external_ca_certificate": "-----BEGIN CERTIFICATE-----\n",
        "board_db_external_admin_user": "provider_admin",
    }
    (inv / "group_vars" / "all" / "external_db.yml").write_text(yaml.safe_dump(external))


# The roles an inventory's layout does not apply anywhere.
# etcd and patroni run with two database servers or more only (board_db_ha): none of these.
SINGLE_DB = {"etcd", "patroni"}
# PgBouncer runs where the inventory turns it on (board_pgbouncer_enabled): the single test
# server's only.
NO_POOLER = {"pgbouncer"}
NOT_APPLIED = {
    "production": {*SINGLE_DB, *NO_POOLER},
    "e2e-single": SINGLE_DB,
    "e2e-lab": {"redis", *SINGLE_DB, *NO_POOLER},
    "e2e-lab-external": {"redis", "postgresql", "backup", *SINGLE_DB, *NO_POOLER},
}
INVENTORIES = {
    "production": _production,
    "e2e-single": _single,
    "e2e-lab": _lab,
    "e2e-lab-external": _lab_external,
}


def _role_entries(play: dict) -> list[dict]:
    return [e if isinstance(e, dict) else {"role": e} for e in play.get("roles") or []]


def _included(play: dict) -> list[dict]:
    """The roles the play's tasks import or include, as role entries (their defaults load)."""
    found = []
    for task in play.get("tasks") or []:
        for key in ROLE_INCLUDES:
            if key in task:
                include = task[key]
                found.append(
                    {
                        "role": include["name"],
                        "entry": include.get("tasks_from", "main"),
                        "validate": include.get("rolespec_validate", True),
                        **({"when": task["when"]} if "when" in task else {}),
                    }
                )
    return found


def _check(entry: dict, playbook: str) -> list[dict]:
    role = entry["role"]
    point = entry.get("entry", "main")
    when = {"when": entry["when"]} if "when" in entry else {}
    # What the role's own check sees besides the play's variables: the role entry's vars and
    # the role's magic variables.
    role_vars = {"role_name": role, "role_path": str(ROLES_DIR / role), **entry.get("vars", {})}
    vars_dir = str(ROLES_DIR / role / "vars")
    return [
        {
            "name": f"Check the arguments {playbook} hands the {role} role"
            + ("" if point == "main" else f" at {point}"),
            "tags": [TAG],
            "ansible.builtin.validate_argument_spec": {"argument_spec": options(role, point)},
            "vars": role_vars,
            **when,
        },
        {
            "name": f"Load the {role} role's variables for this distribution, as it does first",
            "tags": [TAG],
            "ansible.builtin.include_vars": "{{ item }}",
            "with_first_found": [
                {
                    "files": [
                        "{{ ansible_facts.distribution }}-"
                        "{{ ansible_facts.distribution_major_version }}.yml",
                        "{{ ansible_facts.distribution }}.yml",
                        "{{ ansible_facts.os_family }}.yml",
                    ],
                    "paths": [vars_dir],
                    "skip": True,
                }
            ],
            **when,
        },
    ]


def _playbook() -> str:
    plays = []
    for playbook in PLAYBOOKS:
        for play in yaml.safe_load((DEPLOY / playbook).read_text()):
            entries = _role_entries(play)
            # Roles entered from the play's tasks, where their spec has options to check
            # (tasks_from names the entry point; postgresql's external.yml has none yet).
            included = [
                e for e in _included(play) if e["validate"] and options(e["role"], e["entry"])
            ]
            if not entries and not included:
                continue
            # What the play's pre_tasks publish for the roles (set_fact only: nothing else runs).
            published = [
                {**task, "tags": [TAG]}
                for task in play.get("pre_tasks") or []
                if "ansible.builtin.set_fact" in task
            ]
            plays.append(
                {
                    "name": f"{play['name']}: the roles' arguments",
                    "hosts": play["hosts"],
                    "gather_facts": False,
                    **({"vars": play["vars"]} if "vars" in play else {}),
                    # Every role the play reaches, for its defaults (its tasks do not run).
                    "roles": entries
                    + [{"role": e["role"]} for e in _included(play) if "when" not in e],
                    "tasks": published
                    + [t for e in entries + included for t in _check(e, playbook)],
                }
            )
    return yaml.safe_dump(plays, sort_keys=False)


@pytest.mark.parametrize("name", INVENTORIES)
def test_every_host_passes_every_role_spec(tmp_path, name):
    # Without a spec, validate_argument_spec has nothing to check and passes whatever the values.
    assert [role for role in sorted(_roles()) if not options(role)] == []
    inv = tmp_path / "inventory"
    INVENTORIES[name](inv)
    password_file = tmp_path / "vault-password"
    write_vault(inv, password_file)
    proc = run_playbook(
        _playbook(),
        f"role-specs-{name}-{tmp_path.name}",
        str(inv),
        {"ansible_connection": "local", "ansible_facts": TEST_SERVER_FACTS},
        *("--vault-password-file", str(password_file)),
        *("--tags", TAG, "--skip-tags", "always"),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # The checks ran: every role is checked on some host (Redis serves app servers on its own
    # host only, and the three-server layout has none; without a database server, neither the
    # postgresql role nor the backups run there, but the postgresql role's external entry point).
    expected = _roles() - NOT_APPLIED.get(name, set())
    assert _checked_roles(proc.stdout) == expected, proc.stdout[-4000:]
    # And every role the playbooks enter with tasks_from, at that entry point.
    entered = {("base", "sshd"), ("release", "rollback"), ("release", "restore")}
    if name == "e2e-lab-external":
        entered.add(("postgresql", "external"))
    assert _checked_entry_points(proc.stdout) == entered, proc.stdout[-4000:]


def _roles() -> set[str]:
    return {role for playbook in PLAYBOOKS for role in playbook_roles(playbook)}


def _checked_entry_points(stdout: str) -> set[tuple[str, str]]:
    """(role, entry point) of the checks that passed on at least one host."""
    checked = set()
    for section in stdout.split("TASK [")[1:]:
        match = re.match(r"Check the arguments \S+ hands the (\S+) role at (\S+)\]", section)
        if match and "\nok: [" in section:
            checked.add(match.groups())
    return checked


def _checked_roles(stdout: str) -> set[str]:
    """Roles whose check task passed on at least one host."""
    checked = set()
    for section in stdout.split("TASK [")[1:]:
        match = re.match(r"Check the arguments \S+ hands the (\S+) role\]", section)
        if match and "\nok: [" in section:
            checked.add(match.group(1))
    return checked
