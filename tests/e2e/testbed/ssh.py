"""SSH to the server as root: the keys, the client options, and the files other clients use.

Each run makes its own client key and host keys (generated on the controller into the rootfs)
and its own known_hosts, so no run trusts another run's server.  ``ssh_config`` and
``inventory.yml`` in the work dir let a person (``ssh -F``) or Ansible reach the same server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .commands import run


def install_keys(rootfs: Path, key_path: Path, known_hosts: Path, name: str) -> None:
    run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            f"testbed-{name}",
            "-f",
            str(key_path),
        ]
    )
    ssh_dir = rootfs / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    auth = ssh_dir / "authorized_keys"
    shutil.copy(key_path.with_suffix(".pub"), auth)
    os.chmod(auth, 0o600)
    # Fresh host keys for this run, generated on the controller.
    run(["ssh-keygen", "-A", "-f", str(rootfs)], stdout=subprocess.DEVNULL)
    known_hosts.write_text("")


def options(known_hosts: Path) -> list[str]:
    return [
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "LogLevel=ERROR",
    ]


def argv(key_path: Path, known_hosts: Path, target: str, cmd: str | None) -> list[str]:
    args = ["ssh", "-i", str(key_path), *options(known_hosts), target]
    if cmd is not None:
        args.append(cmd)
    return args


def call(
    args: list[str], cmd: str, check: bool, timeout: float | None, input: str | None
) -> subprocess.CompletedProcess:
    """Run an ssh command line; a timeout becomes return code 124 like timeout(1)."""
    try:
        r = subprocess.run(
            args,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        r = subprocess.CompletedProcess(exc.cmd, 124, exc.stdout or "", exc.stderr or "timeout")
        if isinstance(r.stdout, bytes):
            r.stdout = r.stdout.decode(errors="replace")
        if isinstance(r.stderr, bytes):
            r.stderr = r.stderr.decode(errors="replace")
    if check and r.returncode != 0:
        raise subprocess.CalledProcessError(r.returncode, cmd, r.stdout, r.stderr)
    return r


def host_entry(aliases: list[str], ip: str, key_path: Path, known_hosts: Path) -> str:
    """One ``Host`` entry of an ssh_config: root on ``ip`` with this run's key."""
    return (
        f"Host {' '.join(aliases)}\n"
        f"  HostName {ip}\n"
        "  User root\n"
        f"  IdentityFile {key_path}\n"
        "  IdentitiesOnly yes\n"
        "  StrictHostKeyChecking accept-new\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  BatchMode yes\n"
        "  ConnectTimeout 10\n"
        "  LogLevel ERROR\n"
    )


def host_vars(ip: str, key_path: Path, known_hosts: Path, indent: str) -> str:
    """An inventory host's connection variables (YAML lines, each prefixed by ``indent``)."""
    common = " ".join(options(known_hosts))
    return (
        f"{indent}ansible_host: {ip}\n"
        f"{indent}ansible_user: root\n"
        f"{indent}ansible_ssh_private_key_file: {key_path}\n"
        f"{indent}ansible_ssh_common_args: {json.dumps(common)}\n"
    )


def write_client_files(
    ssh_config: Path, inventory: Path, name: str, ip: str, key_path: Path, known_hosts: Path
) -> None:
    ssh_config.write_text(host_entry([name, ip], ip, key_path, known_hosts))
    header = f"---\nall:\n  hosts:\n    {name}:\n"
    inventory.write_text(header + host_vars(ip, key_path, known_hosts, indent=" " * 6))
