"""A wrong value stops a role at its first task, with Ansible's message naming the variable, rather
than deep in a run (without the check, a typo in nginx_tls_mode fails as "file not found" at the
certificate).

Runs ansible-playbook on the controller over one local server in every group, with deploy/'s
group_vars and the roles' defaults, in check mode and with a tag no role task carries: only the
roles' argument checks (tagged always) run, so nothing is changed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .playbook import SECRETS, run_playbook
from .role_specs import TEST_SERVER_FACTS, playbook_role_conditions, playbook_roles

ONE_SERVER = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers: {hosts: {solo: }}
    app_servers: {hosts: {solo: }}
"""
# The vault values group_vars reads without a default.
VAULT = {
    **SECRETS,
    "vault_redis_exporter_password": "redis-exporter-password-0123456789",
    "vault_exporters_scrape_password": "scrape-password-0123456789",
    "vault_backup_repo_cipher_pass": "cipher-pass-0123456789-0123456789",
}
NOT_A_TASK_TAG = "argument-checks-only"


def _apply(tmp_path: Path, playbook: str = "", inventory_vars: str = "", **values: object):
    """site.yml's roles in its order, in one play: each reads the others' defaults, as there
    (or `playbook`); `inventory_vars`, YAML the inventory gives every server."""
    inventory = tmp_path / "hosts.yml"
    connection = "ansible_connection: local"
    inventory.write_text(
        ONE_SERVER.replace(connection, f"{connection}, {inventory_vars}")
        if inventory_vars
        else ONE_SERVER
    )
    # With site.yml's conditions: a role the one server does not run (Patroni's, with one
    # database server) checks nothing here either.
    roles = yaml.safe_dump(
        [
            {"role": role, **({"when": when} if when else {})}
            for role, when in playbook_role_conditions("site.yml").items()
        ],
        width=1000,
    )
    roles = "".join(f"    {line}\n" for line in roles.splitlines())
    playbook = (
        playbook
        or f"""
- name: Apply site.yml's roles
  hosts: board_servers
  gather_facts: false
  roles:
{roles}"""
    )
    return run_playbook(
        playbook,
        f"role-spec-refusal-{tmp_path.name}",
        str(inventory),
        {"ansible_facts": TEST_SERVER_FACTS, **VAULT, **values},
        *("--check", "--tags", NOT_A_TASK_TAG),
    )


@pytest.mark.parametrize(
    ("role", "name", "wrong", "says"),
    [
        ("nginx", "nginx_tls_mode", "acmee", "must be one of: selfsigned, provided, acme"),
        ("app", "app_gunicorn_workers", "lots", "unable to convert to int"),
        ("base", "base_firewall_enabled", "maybe", "unable to convert to bool"),
        ("postgresql", "postgresql_ssl_min_protocol_version", "TLSv1.4", "must be one of"),
        ("release", "release_check_deploy_fail_level", "error", "must be one of"),
    ],
)
def test_a_wrong_value_stops_the_role_at_its_argument_check(tmp_path, role, name, wrong, says):
    run = _apply(tmp_path, **{name: wrong})
    assert run.returncode != 0, run.stdout[-3000:]
    failed = run.stdout.split("TASK [")[-1]
    assert failed.startswith(f"{role} : Validating arguments against arg spec 'main'"), failed
    assert name in failed and wrong in failed and says in failed, failed


def test_an_unquoted_octal_umask_is_refused_not_read_as_decimal(tmp_path):
    """YAML reads an unquoted 027 as the integer 23; a str type would take it as "23"."""
    run = _apply(tmp_path, inventory_vars="base_login_defs_umask: 027")
    assert run.returncode != 0, run.stdout[-3000:]
    failed = run.stdout.split("TASK [")[-1]
    assert failed.startswith("base : Validating arguments against arg spec 'main'"), failed
    assert "base_login_defs_umask must be one of" in failed and "got: 23" in failed, failed


# How the playbooks enter a role elsewhere than its main tasks (tasks_from): Ansible checks the
# arguments against that entry point's spec.
ENTERED = {
    "rollback": ("rollback.yml", "ansible.builtin.include_role", "release"),
    "restore": ("restore.yml", "ansible.builtin.include_role", "release"),
    "sshd": ("site.yml", "ansible.builtin.import_role", "base"),
}


@pytest.mark.parametrize(
    ("entry", "name", "wrong", "says"),
    [
        ("rollback", "release_switch_timeout", "soon", "unable to convert to int"),
        ("restore", "release_keep_releases", "some", "unable to convert to int"),
        ("sshd", "base_ssh_lockout_guard", "maybe", "unable to convert to bool"),
    ],
)
def test_a_wrong_value_stops_a_role_entered_with_tasks_from(tmp_path, entry, name, wrong, says):
    playbook, include, role = ENTERED[entry]
    play = f"""
- name: Enter the {role} role as {playbook} does
  hosts: board_servers
  gather_facts: false
  tasks:
    # As site.yml's sshd play: the monitoring role's defaults, none of its tasks.
    - name: Load the monitoring role's defaults
      ansible.builtin.import_role:
        name: monitoring
        rolespec_validate: false
      tags: [never]
    - name: Enter it
      {include}:
        name: {role}
        tasks_from: {entry}
      tags: [{NOT_A_TASK_TAG}]
"""
    run = _apply(tmp_path, play, **{name: wrong})
    assert run.returncode != 0, run.stdout[-3000:]
    failed = run.stdout.split("TASK [")[-1]
    assert failed.startswith(f"{role} : Validating arguments against arg spec '{entry}'"), failed
    assert name in failed and wrong in failed and says in failed, failed


def test_the_same_run_passes_with_the_shipped_values(tmp_path):
    run = _apply(tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    for role in playbook_roles("site.yml"):
        assert f"{role} : Validating arguments against arg spec 'main'" in run.stdout, role
