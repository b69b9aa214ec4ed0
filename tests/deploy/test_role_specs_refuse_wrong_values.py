"""A wrong value stops a role at its first task, with Ansible's message naming the variable, rather
than deep in a run (a typo in nginx_tls_mode used to fail as "file not found" at the certificate).

Runs ansible-playbook on the controller over one local server in every group, with deploy/'s
group_vars and the roles' defaults, in check mode and with a tag no role task carries: only the
roles' argument checks (tagged always) run, so nothing is changed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .playbook import SECRETS, run_playbook
from .role_specs import TEST_SERVER_FACTS, playbook_roles

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


def _apply(tmp_path: Path, **values: object):
    """site.yml's roles in its order, in one play: each reads the others' defaults, as there."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(ONE_SERVER)
    roles = "".join(f"    - {role}\n" for role in playbook_roles("site.yml"))
    playbook = f"""
- name: Apply site.yml's roles
  hosts: board_servers
  gather_facts: false
  roles:
{roles}"""
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


def test_the_same_run_passes_with_the_shipped_values(tmp_path):
    run = _apply(tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    for role in playbook_roles("site.yml"):
        assert f"{role} : Validating arguments against arg spec 'main'" in run.stdout, role
