"""``Testbed``: one booted test server, from ``up`` to ``down``.

It names everything after the instance (``TESTBED_NAME``) and its /30
(``TESTBED_SUBNET_PREFIX``), puts the pieces of the other modules together in order, waits
until systemd is running, and tears down in reverse order, also after a partial bring-up or
a crashed run with the same name.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from . import cgroups, network, nspawn, proxy, releases, ssh, state, workdir
from .commands import log
from .host_tools import ensure_host_packages
from .processes import pid_alive, terminate
from .rootfs import extract, rootfs_tarball

# Seconds a container gets to shut down cleanly before it is killed (a healthy one takes a few).
STOP_GRACE = 15


class _InWorkdir:
    """A path inside the per-run work dir; reading it while the test bed is down is an error."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, tb: Testbed | None, owner: type) -> Path:
        if tb is None:
            return self  # type: ignore[return-value]
        return tb._wd / self.name


def read_instance_name(given: str | None, env: str, default: str, max_len: int = 31) -> str:
    """The instance name: `given`, else $env, else `default`; lower-case letters, digits, '-'."""
    name = given or os.environ.get(env, default)
    if not re.fullmatch(rf"[a-z0-9][a-z0-9-]{{0,{max_len - 1}}}", name):
        raise ValueError(f"bad {env} {name!r}")
    return name


def read_subnet_prefix(given: str | None, env: str, default: str) -> str:
    """The first three octets of the instance's subnet: `given`, else $env, else `default`."""
    prefix = given or os.environ.get(env, default)
    if not re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", prefix):
        raise ValueError(f"bad {env} {prefix!r}")
    return prefix


class Testbed:
    def __init__(
        self, name: str | None = None, subnet_prefix: str | None = None, release: str | None = None
    ):
        self.name = read_instance_name(name, "TESTBED_NAME", "boardtest")
        self.release = releases.check(release or releases.SINGLE_SERVER)
        self._set_prefix(read_subnet_prefix(subnet_prefix, "TESTBED_SUBNET_PREFIX", "10.231.7"))
        self.netns = f"tb-{self.name}"
        self.veth_host, self.veth_guest = network.veth_names(self.name)
        self.state_file = state.path(self.name)
        self.state_dir = self.state_file.parent
        self.workdir: Path | None = None
        self.nspawn_pid: int | None = None
        self.proxy_pid: int | None = None
        if self.state_file.exists():
            self._load_state()

    def _set_prefix(self, prefix: str) -> None:
        self.prefix = prefix
        self.host_ip = f"{prefix}.1"
        self.ip = f"{prefix}.2"
        self.proxy_url = proxy.url(self.host_ip)

    # ---- paths inside the per-run work dir --------------------------------
    rootfs = _InWorkdir("rootfs")
    key_path = _InWorkdir("id_ed25519")
    known_hosts = _InWorkdir("known_hosts")
    ssh_config = _InWorkdir("ssh_config")
    inventory_path = _InWorkdir("inventory.yml")
    console_log = _InWorkdir("console.log")

    @property
    def _wd(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("test bed is not up")
        return self.workdir

    # ---- state ------------------------------------------------------------
    def _save_state(self) -> None:
        state.save(
            self.state_file,
            {
                "name": self.name,
                "prefix": self.prefix,
                "workdir": str(self.workdir) if self.workdir else None,
                "nspawn_pid": self.nspawn_pid,
                "proxy_pid": self.proxy_pid,
            },
        )

    def _load_state(self) -> None:
        saved = state.load(self.state_file)
        if saved is None:
            return
        self._set_prefix(saved.get("prefix") or self.prefix)
        self.workdir = Path(saved["workdir"]) if saved.get("workdir") else None
        self.nspawn_pid = saved.get("nspawn_pid")
        self.proxy_pid = saved.get("proxy_pid")

    # ---- lifecycle --------------------------------------------------------
    def up(self, timeout: float = 180) -> Testbed:
        self.start()
        self.finish(timeout)
        return self

    def start(self, tarball: Path | None = None) -> Testbed:
        """The first half of ``up``: everything until the container boots (no waiting).  A lab
        starts all its servers before it waits for any; it passes the rootfs ``tarball``."""
        ensure_host_packages()
        self.down(quiet_ok=True)  # leftovers of a crashed run with this name
        if tarball is None:
            tarball = rootfs_tarball(self.release)
        self.workdir = workdir.create(self.name)
        self._save_state()
        with self._down_on_failure():
            extract(tarball, self.rootfs, self.name)
            ssh.install_keys(self.rootfs, self.key_path, self.known_hosts, self.name)
            self._network()
            self._proxy()
            self._boot()
            self._save_state()
        return self

    def finish(self, timeout: float = 180) -> Testbed:
        """The second half of ``up``: wait until the server runs, write the client files."""
        with self._down_on_failure():
            self._wait_ready(timeout)
            ssh.write_client_files(
                self.ssh_config,
                self.inventory_path,
                self.name,
                self.ip,
                self.key_path,
                self.known_hosts,
            )
        return self

    @contextlib.contextmanager
    def _down_on_failure(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            log("bring-up failed; tearing down")
            self._dump_console()
            self.down(quiet_ok=True)
            raise

    # ---- steps a lab server (lab.py) does differently -----------------------
    def _network(self) -> None:
        network.create(self.netns, self.veth_host, self.veth_guest, self.host_ip, self.ip)

    def _remove_network(self) -> None:
        network.remove(self.netns, self.veth_host)

    def _proxy(self) -> None:
        proc = proxy.start(self._wd, self.host_ip, self.prefix)
        self.proxy_pid = proc.pid
        self._save_state()
        proxy.check_started(proc, self._wd)

    def _boot(self) -> None:
        with open(self.console_log, "w") as console:
            proc = nspawn.start(self.rootfs, self.netns, self.name, console)
        self.nspawn_pid = proc.pid
        self._save_state()
        log(f"booting {self.name} (systemd-nspawn pid {proc.pid}) at {self.ip}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not pid_alive(self.nspawn_pid):
                raise RuntimeError("systemd-nspawn exited during boot")
            r = self.ssh("true", timeout=10)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"sshd on {self.ip} not reachable: {r.stderr.strip()}")
            time.sleep(1)
        remaining = max(5, int(deadline - time.monotonic()))
        r = self.ssh(
            f"timeout {remaining} systemctl is-system-running --wait", timeout=remaining + 10
        )
        status = r.stdout.strip()
        if status not in ("running", "degraded"):
            raise RuntimeError(f"system state {status!r}: {r.stderr.strip()}")
        if status == "degraded":
            failed = self.ssh("systemctl --failed --no-legend --plain").stdout.strip()
            log(f"system is degraded; failed units:\n{failed}")
        log(f"{self.name} is up ({status})")

    # ---- ssh ----------------------------------------------------------------
    def ssh_argv(self, cmd: str | None = None, user: str = "root") -> list[str]:
        return ssh.argv(self.key_path, self.known_hosts, f"{user}@{self.ip}", cmd)

    def ssh(
        self, cmd: str, check: bool = False, timeout: float | None = 300, input: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run a shell command on the test server as root; returns CompletedProcess (text)."""
        return ssh.call(self.ssh_argv(cmd), cmd, check, timeout, input)

    def sh(
        self, cmd: str, check: bool = True, timeout: float | None = 300, input: str | None = None
    ) -> str:
        """Run a shell command on the test server as root; its stripped stdout. With check, a
        failure fails the test with the command's output."""
        proc = self.ssh(cmd, timeout=timeout, input=input)
        if check:
            assert proc.returncode == 0, (
                f"{cmd!r} failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
            )
        return proc.stdout.strip()

    def _dump_console(self) -> None:
        with contextlib.suppress(Exception):
            text = self.console_log.read_text(errors="replace")
            # systemd redraws its progress lines with colours and a spinner: one copy of each.
            plain = re.sub(r"\x1b(\[[0-9;]*)?[A-Za-z]", "", text)
            lines = [
                re.sub(r"^\[[ *]+\] ", "", line.strip()) for line in re.split(r"[\r\n]+", plain)
            ]
            tail = list(dict.fromkeys(re.sub(r"\(\d+s / ", "(", line) for line in lines if line))
            log("console tail:\n" + "\n".join(tail[-40:]))

    def down(self, quiet_ok: bool = False) -> None:
        """Tear everything down; safe after a partial bring-up or a crashed run."""
        pids = []
        if self.nspawn_pid and nspawn.is_ours(self.nspawn_pid, self.netns):
            pids.append(self.nspawn_pid)
        for pid in nspawn.find_ours(self.netns):
            if pid not in pids:
                pids.append(pid)
        for pid in pids:
            log(f"stopping systemd-nspawn pid {pid}")
            # The container is thrown away: a shutdown still waiting after STOP_GRACE seconds
            # is killed, and its console shows which unit it waited for.
            if not terminate(pid, timeout=STOP_GRACE):
                self._dump_console()
        cgroups.remove(self.name)
        for pid in proxy.pids(self.name, self.proxy_pid):
            terminate(pid, timeout=5)
        self._remove_network()
        if self.workdir and self.workdir.exists():
            if os.environ.get("TESTBED_KEEP_ROOTFS") == "1":
                log(f"keeping {self.workdir}")
            else:
                workdir.remove(self.workdir)
        # crashed runs that lost their state file: stale work dirs with our name
        for stale in workdir.stale(self.name):
            if stale != self.workdir and not nspawn.find_ours(self.netns):
                workdir.remove(stale)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()
        self.workdir = None
        self.nspawn_pid = self.proxy_pid = None

    def describe(self) -> str:
        return (
            f"name={self.name} release={self.release} server={self.ip} host={self.host_ip} "
            f"proxy={self.proxy_url}\n"
            f"workdir={self.workdir}\nkey={self.key_path if self.workdir else None}\n"
            f"ssh: ssh -F {self.ssh_config} {self.name}\n"
            f"inventory={self.inventory_path if self.workdir else None}"
        )
