"""Who can reach sshd: fail2ban bans a brute-forcing address (never the controller), and the
base role refuses changes that would lock the operator out.

The brute force comes from a second address added to the host end of the veth for this
test only, so the controller's own address (x.x.x.1) keeps its SSH access throughout.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest
from support.paths import DEPLOY

# A /32 next to the test bed's /30 (x.x.x.1 controller, x.x.x.2 server): x.x.x.5.
ATTACKER_SUFFIX = 5
FAILED_LOGINS = 8  # more than base_fail2ban_maxretry (5)
TEST_BANTIME = 45  # seconds


def banned(tb) -> list[str]:
    out = tb.sh("fail2ban-client get sshd banned")
    return [ip.strip(" '\"") for ip in out.strip("[]").split(",") if ip.strip(" '\"")]


def reaches_sshd(src: str, dst: str, timeout: float = 3) -> bool:
    """True when a TCP connection from `src` gets sshd's banner."""
    try:
        with socket.create_connection((dst, 22), timeout=timeout, source_address=(src, 0)) as s:
            return s.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def wait_for(predicate, timeout: float, step: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture
def attacker(provisioned):
    """A second source address on the controller side, routed to the server; removed after."""
    tb = provisioned.testbed
    addr = f"{tb.prefix}.{ATTACKER_SUFFIX}"
    netns = ["ip", "netns", "exec", tb.netns]
    subprocess.run(["ip", "addr", "add", f"{addr}/32", "dev", tb.veth_host], check=True)
    subprocess.run([*netns, "ip", "route", "add", f"{addr}/32", "dev", tb.veth_guest], check=True)
    try:
        yield addr
    finally:
        tb.ssh(f"fail2ban-client set sshd unbanip {addr}")
        subprocess.run([*netns, "ip", "route", "del", f"{addr}/32"], check=False)
        subprocess.run(["ip", "addr", "del", f"{addr}/32", "dev", tb.veth_host], check=False)


def test_controller_address_is_never_banned(provisioned):
    tb = provisioned.testbed
    ignored = tb.sh("fail2ban-client get sshd ignoreip")
    assert tb.host_ip in ignored.split(), ignored
    assert tb.sh("fail2ban-client status sshd | grep -c 'Journal matches'") == "1"


def test_fail2ban_bans_repeated_failed_logins_and_lifts_the_ban(provisioned, attacker):
    tb = provisioned.testbed
    configured = tb.sh("fail2ban-client get sshd bantime")
    assert int(configured) >= 600, configured
    assert attacker not in banned(tb)
    assert reaches_sshd(attacker, tb.ip)
    # A short ban for this test only (runtime setting; restored below). Long enough that the
    # loop below, which checks after every attempt, cannot miss it on a loaded machine.
    tb.sh(f"fail2ban-client set sshd bantime {TEST_BANTIME}")
    try:
        for _ in range(FAILED_LOGINS):
            subprocess.run(
                [
                    "ssh",
                    "-b",
                    attacker,
                    "-i",
                    str(tb.key_path),
                    "-o",
                    "IdentitiesOnly=yes",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                    "-o",
                    "ConnectTimeout=3",
                    # A connection banned mid-handshake hangs (its packets are dropped):
                    # give up on it within seconds instead of outlasting the ban.
                    "-o",
                    "ServerAliveInterval=1",
                    "-o",
                    "ServerAliveCountMax=3",
                    "-o",
                    "LogLevel=QUIET",
                    f"nosuchuser@{tb.ip}",
                    "true",
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )
            if attacker in banned(tb):
                break
        assert wait_for(lambda: attacker in banned(tb), timeout=30), tb.sh(
            "fail2ban-client status sshd"
        )
        print(f"\nfail2ban banned {attacker}: {tb.sh('fail2ban-client status sshd')}")
        # Banned: the attacker's packets are rejected, the controller still gets in.
        assert not reaches_sshd(attacker, tb.ip)
        assert tb.sh("echo still-in") == "still-in"
        # The ban lifts by itself when bantime is over.
        assert wait_for(lambda: attacker not in banned(tb), timeout=TEST_BANTIME + 30)
        assert wait_for(lambda: reaches_sshd(attacker, tb.ip), timeout=10)
    finally:
        tb.ssh(f"fail2ban-client set sshd bantime {configured}")
    assert tb.sh("fail2ban-client get sshd bantime") == configured


# --------------------------------------------------------------------------------------
# Lockout guards: a run that would cut the operator off stops before changing anything.
# --------------------------------------------------------------------------------------
def _run_base(provisioned, label: str, extra: list[str], env: dict | None = None):
    argv = provisioned.ansible_playbook_argv(extra_args=["--tags", "base", *extra])
    log_path = provisioned.log_dir / f"guard-{label}.log"
    with open(log_path, "w") as logf:
        proc = subprocess.run(
            argv,
            cwd=DEPLOY,
            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            check=False,
        )
    return proc.returncode, log_path.read_text(errors="replace")


def test_moving_sshd_off_the_connection_port_is_refused(provisioned):
    tb = provisioned.testbed
    rc, log = _run_base(provisioned, "port", ["-e", "base_ssh_port=2222"])
    assert rc != 0
    assert "base_ssh_port is 2222 but Ansible connects" in log, log[-3000:]
    assert tb.sh("/usr/sbin/sshd -T | grep '^port '") == "port 22"
    assert "2222" not in tb.sh("ufw status")


def test_operator_without_a_key_is_refused(provisioned, tmp_path):
    """The operator is still logged in (a live connection) but has no key any more."""
    tb = provisioned.testbed
    control = tmp_path / "cm.sock"
    master = [
        *tb.ssh_argv()[:1],
        "-M",
        "-S",
        str(control),
        "-o",
        "ControlPersist=120",
        "-fN",
        *tb.ssh_argv()[1:],
    ]
    subprocess.run(master, check=True, stdin=subprocess.DEVNULL, timeout=30)
    via_master = ["ssh", "-S", str(control), f"root@{tb.ip}"]
    keys = "/root/.ssh/authorized_keys"
    try:
        subprocess.run([*via_master, f"mv {keys} {keys}.guard-test"], check=True, timeout=30)
        # Ansible reuses the live connection, like an operator whose key was just removed or who
        # logged in some other way: ssh's own ControlPath option, which Mitogen's connection
        # passes to ssh as Ansible's does (Mitogen has no ControlPath setting of its own).
        rc, log = _run_base(
            provisioned, "nokey", [], env={"ANSIBLE_SSH_ARGS": f"-o ControlPath={control}"}
        )
    finally:
        subprocess.run([*via_master, f"mv {keys}.guard-test {keys}"], check=True, timeout=30)
        subprocess.run([*via_master[:3], "-O", "exit", f"root@{tb.ip}"], check=False, timeout=30)
    assert rc != 0
    assert "finds no key in root's authorized_keys" in log, log[-3000:]
    assert "ssh-copy-id root@" in log
    # Nothing was changed before the guard, and the normal key login still works.
    assert tb.sh("echo ok") == "ok"
