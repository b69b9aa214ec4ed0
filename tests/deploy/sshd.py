"""A real sshd on a loopback port, for controller-side tests of the hardened configuration.

The controller's own /usr/sbin/sshd when it has one; otherwise Debian's openssh-server binary
unpacked from the package (not installed: that would start a system sshd on port 22). It runs
as `nobody` (an unprivileged sshd serves only its own user, and needs no privilege separation
account) with the configuration under test included after the test's own settings.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

USER = "nobody"
SYSTEM_SSHD = Path("/usr/sbin/sshd")
# The sshd binary and the one library of its dependencies a minimal controller lacks.
PACKAGES = ["openssh-server", "libwrap0"]


@contextlib.contextmanager
def sshd_binary() -> Iterator[tuple[Path, dict]]:
    """The sshd to run and the environment it needs."""
    if SYSTEM_SSHD.exists():
        yield SYSTEM_SSHD, {}
        return
    # Outside pytest's root-only tree: sshd runs as USER.
    directory = Path(tempfile.mkdtemp(prefix="board-sshd-bin-"))
    try:
        directory.chmod(0o755)
        subprocess.run(
            ["apt-get", "download", *PACKAGES], cwd=directory, check=True, capture_output=True
        )
        root = directory / "root"
        for deb in directory.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        libs = [str(p) for p in root.glob("usr/lib/*-linux-gnu") if p.is_dir()]
        yield root / "usr/sbin/sshd", {"LD_LIBRARY_PATH": ":".join(libs)}
    finally:
        shutil.rmtree(directory)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_sshd(
    binary: Path, env: dict, included: str, authorized_keys: str
) -> Iterator[tuple[int, Path]]:
    """sshd with `included` (the configuration under test) and USER's `authorized_keys` on a
    loopback port; yields the port and the whole configuration."""
    nobody = pwd.getpwnam(USER)
    # Its own directory outside pytest's (root-only) tree: sshd runs as USER and reads it.
    directory = Path(tempfile.mkdtemp(prefix="board-sshd-"))
    try:
        directory.chmod(0o755)
        host_key = directory / "host_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True
        )
        (directory / "included.conf").write_text(included)
        (directory / "authorized_keys").write_text(authorized_keys)
        port = _free_port()
        config = directory / "sshd_config"
        # sshd keeps the first value it reads: these come before the configuration under test.
        # UsePAM: without PAM, sshd takes USER's "*" password for a locked account.
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile none\n"
            f"AuthorizedKeysFile {directory}/authorized_keys\nStrictModes no\nUsePAM yes\n"
            f"Include {directory}/included.conf\n"
        )
        for path in [directory, *directory.iterdir()]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        cmd = [str(binary), "-D", "-e", "-f", str(config)]
        log = (directory / "sshd.log").open("w")
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **env},
            user=nobody.pw_uid,
            group=nobody.pw_gid,
            extra_groups=[],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                    break
                assert proc.poll() is None and time.monotonic() < deadline, (
                    directory / "sshd.log"
                ).read_text()
                time.sleep(0.1)
            yield port, config
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()
    finally:
        shutil.rmtree(directory)


def logs_in(port: int, private_key: Path) -> bool:
    """Whether sshd lets USER in with this key alone (the session itself may end at once)."""
    run = subprocess.run(
        [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(private_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-p",
            str(port),
            f"{USER}@127.0.0.1",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if "Permission denied" in run.stderr:
        return False
    # Any other failure to connect is the test's, not a verdict.
    assert run.returncode != 255, run.stderr
    return True


def accepted_algorithms(binary: Path, env: dict, config: Path) -> list[str]:
    """sshd's own reading of PubkeyAcceptedAlgorithms from `config`."""
    nobody = pwd.getpwnam(USER)
    out = subprocess.run(
        [str(binary), "-T", "-f", str(config)],
        env={**os.environ, **env},
        user=nobody.pw_uid,
        group=nobody.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("pubkeyacceptedalgorithms "))
    return line.split()[1].split(",")
