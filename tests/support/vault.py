"""The vault of a test run: random values, encrypted with ansible-vault as an operator does."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import yaml

from .paths import DEPLOY
from .tools import venv_tool

# The vault values group_vars reads, and how long each random value is (token_urlsafe bytes).
VAULT_VALUE_BYTES = {
    "vault_postgresql_owner_password": 24,
    "vault_postgresql_runtime_password": 24,
    "vault_app_secret_key": 50,
    "vault_redis_password": 24,
    "vault_redis_exporter_password": 24,
    "vault_exporters_scrape_password": 24,
    "vault_app_superuser_password": 18,
    "vault_backup_repo_cipher_pass": 36,
    "vault_patroni_replication_password": 24,
    "vault_patroni_rewind_password": 24,
    "vault_patroni_restapi_password": 24,
}


def write_vault(inv: Path, password_file: Path) -> dict[str, str]:
    """A fresh vault (group_vars/all/vault.yml under `inv`) and its password file; the values."""
    values = {name: secrets.token_urlsafe(size) for name, size in VAULT_VALUE_BYTES.items()}
    password_file.write_text(secrets.token_urlsafe(32) + "\n")
    password_file.chmod(0o600)
    encrypt_vault(inv, password_file, values)
    return values


def encrypt_vault(inv: Path, password_file: Path, values: dict[str, str]) -> None:
    """Write `values` as the inventory's group_vars/all/vault.yml, encrypted."""
    plain = "---\n" + "".join(f'{k}: "{v}"\n' for k, v in values.items())
    out = inv / "group_vars" / "all" / "vault.yml"
    # plaintext goes through stdin only, never to disk
    subprocess.run(
        [
            venv_tool("ansible-vault"),
            "encrypt",
            "--vault-password-file",
            str(password_file),
            "--output",
            str(out),
            "-",
        ],
        input=plain,
        text=True,
        check=True,
        capture_output=True,
        cwd=DEPLOY,
    )


def read_vault(inv: Path, password_file: Path) -> dict[str, str]:
    """The values of the inventory's vault (a test bed kept from an earlier session, E2E_REUSE)."""
    out = subprocess.run(
        [
            venv_tool("ansible-vault"),
            "view",
            "--vault-password-file",
            str(password_file),
            str(inv / "group_vars" / "all" / "vault.yml"),
        ],
        text=True,
        check=True,
        capture_output=True,
        cwd=DEPLOY,
    )
    return yaml.safe_load(out.stdout)
