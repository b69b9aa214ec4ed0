"""What the first `git push` that deploys needs, and which of it is missing (`make check-push`).

Checked here: the production inventory (real hosts, each with its deploy user), the vault
(present, encrypted, and, given ANSIBLE_VAULT_PASSWORD_FILE, every value of
inventories/vault.example.yml set), and, through the GitHub CLI when it is logged in, the
`production` environment's secrets and variables and the repository variables the workflows
read. Their names come from the workflows themselves. Without `gh` those are printed as a list
to check by hand. Exit status 1 when something is missing.

    python deploy/scripts/check_push.py [--inventory DIR] [--repo DIR]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENT = "production"
# RFC 5737 documentation networks and example domains: the shipped example values.
EXAMPLE_NETWORKS = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
]
EXAMPLE_DOMAIN = re.compile(r"(^|\.)example\.(com|org|net)$")
VAULT_HEADER = "$ANSIBLE_VAULT;"
PLACEHOLDER = "CHANGE_ME"
VARIABLE_REF = re.compile(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)")


def display(path: Path) -> str:
    """A path as the user typed it: relative to the repository when inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


class Report:
    def __init__(self):
        self.missing = 0

    def ok(self, what: str):
        print(f"ok       {what}")

    def miss(self, what: str):
        self.missing += 1
        print(f"MISSING  {what}")

    def by_hand(self, what: str):
        print(f"CHECK    {what}")


def hosts_of(node: dict, groups: dict, group: str = "all") -> None:
    """Collect host -> vars of a YAML inventory, and group -> host names."""
    for name, host_vars in ((node or {}).get("hosts") or {}).items():
        groups.setdefault(group, {})[name] = host_vars or {}
    for child, child_node in ((node or {}).get("children") or {}).items():
        hosts_of(child_node, groups, child)


def check_inventory(inventory: Path, report: Report) -> None:
    hosts_file = inventory / "hosts.yml"
    if not hosts_file.exists():
        report.miss(f"inventory: {display(hosts_file)} (list your servers there)")
        return
    groups: dict[str, dict] = {}
    for group, node in (yaml.safe_load(hosts_file.read_text()) or {}).items():
        hosts_of(node, groups, group)
    merged: dict[str, dict] = {}
    for members in groups.values():
        for name, host_vars in members.items():
            merged.setdefault(name, {}).update(host_vars)
    for group in ("app_servers", "db_servers"):
        if not groups.get(group):
            report.miss(f"inventory: no host in group {group} ({display(hosts_file)})")
    for name, host_vars in sorted(merged.items()):
        address = str(host_vars.get("ansible_host", name))
        if is_example(address):
            report.miss(f"inventory: {name} is the example {address} ({display(hosts_file)})")
        else:
            report.ok(f"inventory: {name} at {address}")
        user = host_vars.get("ansible_user")
        if not user:
            report.miss(
                f"deploy user: {name} has no ansible_user (the user whose key is DEPLOY_SSH_KEY)"
            )
        elif user == "root":
            report.miss(f"deploy user: {name} logs in as root; create a sudoer such as `deploy`")
        else:
            report.ok(f"deploy user: {name} as {user} (DEPLOY_SSH_KEY must be its key)")
    if merged:
        report.by_hand(
            "deploy user: it exists on each server with sudo and DEPLOY_SSH_KEY's public key: "
            "from deploy/, `ansible all -i inventories/production -m ping -b --ask-vault-pass`"
        )
    nginx = inventory / "group_vars" / "all" / "nginx.yml"
    server_name = (yaml.safe_load(nginx.read_text()) or {}).get("nginx_server_name", "")
    if not server_name or is_example(str(server_name)):
        report.miss(f"site name: nginx_server_name is {server_name!r} ({display(nginx)})")
    else:
        report.ok(f"site name: {server_name}")


def is_example(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return bool(EXAMPLE_DOMAIN.search(address.lower()))
    return any(ip in network for network in EXAMPLE_NETWORKS)


def check_vault(inventory: Path, example: Path, report: Report) -> None:
    vault = inventory / "group_vars" / "all" / "vault.yml"
    if not vault.exists():
        report.miss(f"vault: {display(vault)} (copy {example.name}, fill it in, encrypt it)")
        return
    if not vault.read_text().startswith(VAULT_HEADER):
        report.miss(f"vault: {display(vault)} is not encrypted (ansible-vault encrypt it)")
        return
    report.ok(f"vault: {display(vault)} is encrypted")
    password_file = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
    if not password_file:
        report.by_hand("vault values: set ANSIBLE_VAULT_PASSWORD_FILE to check them")
        return
    # ansible-vault of this interpreter's virtualenv; the password stays in its file.
    ansible_vault = Path(sys.executable).with_name("ansible-vault")
    decrypted = subprocess.run(  # noqa: S603 (arguments built here)
        [ansible_vault, "view", "--vault-password-file", password_file, vault],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if decrypted.returncode != 0:
        report.miss(f"vault: ANSIBLE_VAULT_PASSWORD_FILE does not decrypt {display(vault)}")
        return
    values = yaml.safe_load(decrypted.stdout) or {}
    # The example's active keys are required; its commented-out ones are optional.
    required = yaml.safe_load(example.read_text()) or {}
    unset = [
        key
        for key, placeholder in required.items()
        if placeholder == PLACEHOLDER and values.get(key) in (None, "", PLACEHOLDER)
    ]
    for key in unset:
        report.miss(f"vault value: {key} is unset or {PLACEHOLDER}")
    if not unset:
        report.ok("vault values: every value of the example is set")


def workflow_names(repo: Path) -> tuple[list[str], list[str], list[str]]:
    """(environment secrets, environment variables, repository variables) the workflows read:
    deploy.yml's secrets and variables belong to the environment, ci.yml's to the repository."""
    deploy = repo / ".github" / "workflows" / "deploy.yml"
    workflow = yaml.safe_load(deploy.read_text())
    trigger = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on:` as True
    secrets = sorted(trigger["workflow_call"]["secrets"])
    env_vars = sorted(set(VARIABLE_REF.findall(deploy.read_text())))
    repo_vars = sorted(
        {
            name
            for path in (repo / ".github" / "workflows").glob("*.yml")
            if path != deploy
            for name in VARIABLE_REF.findall(path.read_text())
        }
    )
    return secrets, env_vars, repo_vars


def gh_names(*args: str) -> set[str] | None:
    """Names `gh secret|variable list` prints (first column), or None when gh cannot tell."""
    gh = shutil.which("gh")
    if not gh:
        return None
    listed = subprocess.run([gh, *args], capture_output=True, text=True, check=False)  # noqa: S603
    if listed.returncode != 0:
        return None
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


def check_github(repo: Path, report: Report) -> None:
    secrets, env_vars, repo_vars = workflow_names(repo)
    environment = f"environment {ENVIRONMENT} (Settings > Environments)"
    repository = "repository (Settings > Secrets and variables > Actions > Variables)"
    wanted = [
        ("secret", environment, secrets, ("secret", "list", "--env", ENVIRONMENT)),
        ("variable", environment, env_vars, ("variable", "list", "--env", ENVIRONMENT)),
        ("variable", repository, repo_vars, ("variable", "list")),
    ]
    for kind, where, names, gh_args in wanted:
        present = gh_names(*gh_args)
        for name in names:
            if present is None:
                report.by_hand(f"GitHub {kind} {name} of the {where}: gh cannot list them")
            elif name in present:
                report.ok(f"GitHub {kind} {name} of the {where}")
            else:
                report.miss(f"GitHub {kind} {name} of the {where}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, default=REPO / "deploy/inventories/production")
    parser.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args(argv)
    report = Report()
    check_inventory(args.inventory, report)
    check_vault(args.inventory, args.repo / "deploy/inventories/vault.example.yml", report)
    check_github(args.repo, report)
    if report.missing:
        print(f"check-push: {report.missing} thing(s) missing before a push can deploy")
        return 1
    print("check-push: nothing missing (CHECK lines are yours to confirm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
