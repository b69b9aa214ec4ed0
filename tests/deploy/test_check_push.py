"""`make check-push` (deploy/scripts/check_push.py) names what the first deploying push lacks.

Each test runs the script on a copy of the production inventory in a temporary directory, with
the repository's workflows (the GitHub names come from them). GitHub cannot be reached here: the
`gh` of the last test is a stand-in that prints what `gh secret|variable list` prints (a name,
a tab, a date, one line each) for the names it is given.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from .playbook import BIN, DEPLOY

SCRIPT = DEPLOY / "scripts" / "check_push.py"
REPO = DEPLOY.parent
GITHUB_NAMES = ["ANSIBLE_VAULT_PASSWORD", "DEPLOY_KNOWN_HOSTS", "DEPLOY_SSH_KEY", "PUBLIC_URL"]


def check_push(inventory, tmp_path, *, vault_password_file=None, gh_lists=None):
    """Run the script; gh_lists maps `gh` arguments (joined by spaces) to the names it lists,
    and without it no gh is on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    if gh_lists is not None:
        gh = bindir / "gh"
        cases = "\n".join(
            f'    "{args}") printf "%s\\t2026-12-01\\n" {" ".join(names)} ;;'
            for args, names in gh_lists.items()
        )
        gh.write_text(f'#!/bin/bash\ncase "$*" in\n{cases}\n    *) exit 1 ;;\nesac\n')
        gh.chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    if vault_password_file:
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(vault_password_file)
    result = subprocess.run(
        [sys.executable, SCRIPT, "--inventory", inventory],
        capture_output=True,
        text=True,
        env=env,
    )
    print(result.stdout)
    return result


@pytest.fixture
def inventory(tmp_path):
    """The production inventory filled in as a user would: a real address and name, a deploy
    user, and an encrypted vault with every value set. Returns (directory, password file)."""
    copy = tmp_path / "production"
    shutil.copytree(DEPLOY / "inventories" / "production", copy)
    hosts = yaml.safe_load((copy / "hosts.yml").read_text())
    hosts["board_servers"]["children"]["db_servers"]["hosts"]["board-prod-1"] = {
        "ansible_host": "10.20.30.40",
        "ansible_user": "deploy",
    }
    (copy / "hosts.yml").write_text(yaml.safe_dump(hosts))
    nginx = copy / "group_vars" / "all" / "nginx.yml"
    nginx.write_text(nginx.read_text().replace("board.example.com", "board.acme-corp.test"))
    values = yaml.safe_load((DEPLOY / "inventories" / "vault.example.yml").read_text())
    vault = copy / "group_vars" / "all" / "vault.yml"
    vault.write_text(yaml.safe_dump({key: f"long-random-{key}" for key in values}))
    password = tmp_path / "vault-password"
    password.write_text("correct horse battery staple\n")
    encrypt(vault, password)
    return copy, password


def encrypt(vault, password):
    subprocess.run(
        [BIN / "ansible-vault", "encrypt", "--vault-password-file", password, vault],
        check=True,
        capture_output=True,
    )


def test_the_shipped_example_is_reported_missing(tmp_path):
    result = check_push(DEPLOY / "inventories" / "production", tmp_path)
    assert result.returncode == 1
    assert "MISSING  inventory: board-prod-1 is the example 192.0.2.10" in result.stdout
    assert "MISSING  site name: nginx_server_name is 'board.example.com'" in result.stdout
    assert "MISSING  vault: deploy/inventories/production/group_vars/all/vault.yml" in (
        result.stdout
    )


def test_a_filled_in_inventory_passes_and_names_what_github_must_hold(inventory, tmp_path):
    directory, password = inventory
    result = check_push(directory, tmp_path, vault_password_file=password)
    assert result.returncode == 0, result.stdout
    assert "ok       inventory: board-prod-1 at 10.20.30.40" in result.stdout
    assert "ok       vault values: every value of the example is set" in result.stdout
    for name in [*GITHUB_NAMES, "TESTBED_MIRROR"]:
        assert f"CHECK    GitHub secret {name}" in result.stdout or (
            f"CHECK    GitHub variable {name}" in result.stdout
        )


def test_a_placeholder_left_in_the_vault_is_named(inventory, tmp_path):
    directory, password = inventory
    vault = directory / "group_vars" / "all" / "vault.yml"
    vault.write_text(yaml.safe_dump({"vault_app_secret_key": "CHANGE_ME"}))
    encrypt(vault, password)
    result = check_push(directory, tmp_path, vault_password_file=password)
    assert result.returncode == 1
    assert "MISSING  vault value: vault_app_secret_key is unset or CHANGE_ME" in result.stdout
    assert "MISSING  vault value: vault_redis_password is unset" in result.stdout


def test_an_unencrypted_vault_is_refused(inventory, tmp_path):
    directory, _ = inventory
    (directory / "group_vars" / "all" / "vault.yml").write_text("vault_app_secret_key: x\n")
    result = check_push(directory, tmp_path)
    assert result.returncode == 1
    assert "is not encrypted" in result.stdout


@pytest.mark.parametrize(
    ("user", "message"),
    [(None, "board-prod-1 has no ansible_user"), ("root", "board-prod-1 logs in as root")],
)
def test_the_deploy_user_is_required_and_not_root(inventory, tmp_path, user, message):
    directory, password = inventory
    hosts = yaml.safe_load((directory / "hosts.yml").read_text())
    host = hosts["board_servers"]["children"]["db_servers"]["hosts"]["board-prod-1"]
    host.pop("ansible_user")
    if user:
        host["ansible_user"] = user
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    result = check_push(directory, tmp_path, vault_password_file=password)
    assert result.returncode == 1
    assert f"MISSING  deploy user: {message}" in result.stdout


def test_github_names_missing_from_the_environment_or_repository_are_reported(inventory, tmp_path):
    directory, password = inventory
    gh_lists = {
        "secret list --env production": ["DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS"],
        "variable list --env production": ["PUBLIC_URL"],
        "variable list": ["SOMETHING_ELSE"],
    }
    result = check_push(directory, tmp_path, vault_password_file=password, gh_lists=gh_lists)
    assert result.returncode == 1
    assert "ok       GitHub secret DEPLOY_SSH_KEY of the environment production" in result.stdout
    assert "MISSING  GitHub secret ANSIBLE_VAULT_PASSWORD of the environment production" in (
        result.stdout
    )
    assert "ok       GitHub variable PUBLIC_URL of the environment production" in result.stdout
    assert "MISSING  GitHub variable TESTBED_MIRROR of the repository" in result.stdout
