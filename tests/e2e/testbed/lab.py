"""``Lab``: three test servers (``db``, ``app1``, ``app2``) on one private /24, booting the
lab's Debian release (releases.py).

The lab's network namespace (``tb-<lab>``) holds a bridge.  One veth pair joins it to the
host, whose side gets ``<prefix>.1/24``: the controller (Ansible, ssh, the tests) and the
lab's one tinyproxy live there.  Each server is a ``Testbed`` (``LabServer``) with its own
namespace (``tb-<lab>-<role>``) whose veth is paired with a port of the bridge, so the
servers reach each other and the controller, and nothing else: no default route, no
forwarding.  Servers are named ``<lab>-<role>`` and get ``<prefix>.11``, ``.12``, ``.13``.

``up`` starts all three containers before it waits for any.  The lab's state file
(``/run/board-testbed/<lab>/state.json``) records its work dir, proxy and servers, and each
server keeps its own state file as a single test bed does, so ``down`` from another process
or after a crash stops exactly those; everything else is named after the lab, so ``down`` is
also complete when a state file is missing, and it is idempotent.

The lab's work dir holds ``ssh_config`` (hosts ``db``, ``app1``, ``app2``, their machine
names and IPs) and ``inventory.yml`` (``board_servers`` with ``db_servers`` and
``app_servers``).  A lab and a single test bed must not share a name.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import network, proxy, releases, rootfs, ssh, state, workdir
from .commands import log
from .host_tools import ensure_host_packages
from .processes import terminate
from .rootfs import rootfs_tarball
from .server import Testbed, read_instance_name, read_subnet_prefix

# role -> last octet; the order is the bring-up order
ROLES = {"db": 11, "app1": 12, "app2": 13, "db2": 14}
# db2 boots with the lab but is outside its inventory: the high-availability tests add it.
INVENTORY_GROUPS = {"db_servers": ["db"], "app_servers": ["app1", "app2"]}


class LabServer(Testbed):
    """One server of a lab: a ``Testbed`` whose network and proxy are the lab's."""

    def __init__(self, lab: Lab, role: str):
        self.lab = lab
        self.role = role
        self.host_number = ROLES[role]
        super().__init__(f"{lab.name}-{role}", lab.prefix, lab.release)

    def _set_prefix(self, prefix: str) -> None:
        self.prefix = prefix
        self.host_ip = f"{prefix}.1"
        self.ip = f"{prefix}.{self.host_number}"
        self.proxy_url = proxy.url(self.host_ip)

    def _network(self) -> None:
        # veth_host is the bridge's port, in the lab's namespace
        network.join_lab(
            self.lab.netns, self.lab.bridge, self.netns, self.veth_host, self.veth_guest, self.ip
        )

    def _remove_network(self) -> None:
        network.leave_lab(self.lab.netns, self.netns, self.veth_host)

    def _proxy(self) -> None:
        pass  # the lab's proxy (on the same host address) serves every server

    def down(self, quiet_ok: bool = False) -> None:
        # a lab-up killed while unpacking leaves its tar running: stop it first
        for pid in rootfs.extracting(self.name):
            log(f"stopping tar pid {pid} (unpacking {self.name}'s rootfs)")
            terminate(pid, timeout=5)
        super().down(quiet_ok)


class Lab:
    def __init__(
        self, name: str | None = None, subnet_prefix: str | None = None, release: str | None = None
    ):
        # room for "-app2" within a test bed's name
        self.name = read_instance_name(name, "TESTBED_LAB_NAME", "boardlab", max_len=26)
        self.release = releases.check(release or releases.LAB)
        prefix = read_subnet_prefix(subnet_prefix, "TESTBED_LAB_SUBNET_PREFIX", "10.231.40")
        self.netns = f"tb-{self.name}"
        self.bridge = network.bridge_name(self.name)
        self.veth_host, self.veth_lab = network.veth_names(self.name)
        self.state_file = state.path(self.name)
        self.state_dir = self.state_file.parent
        self.workdir: Path | None = None
        self.proxy_pid: int | None = None
        saved = state.load(self.state_file) or {}
        self._set_prefix(saved.get("prefix") or prefix)
        self.workdir = Path(saved["workdir"]) if saved.get("workdir") else None
        self.proxy_pid = saved.get("proxy_pid")
        self.servers = {role: LabServer(self, role) for role in ROLES}

    def _set_prefix(self, prefix: str) -> None:
        self.prefix = prefix
        self.host_ip = f"{prefix}.1"
        self.proxy_url = proxy.url(self.host_ip)

    @property
    def db(self) -> LabServer:
        return self.servers["db"]

    @property
    def app1(self) -> LabServer:
        return self.servers["app1"]

    @property
    def app2(self) -> LabServer:
        return self.servers["app2"]

    def server(self, host: str) -> LabServer:
        """A server by role (``db``), machine name (``<lab>-db``) or IP."""
        for srv in self.servers.values():
            if host in (srv.role, srv.name, srv.ip):
                return srv
        raise KeyError(f"no server {host!r} in lab {self.name} (one of {', '.join(ROLES)})")

    def __getitem__(self, host: str) -> LabServer:
        return self.server(host)

    @property
    def _wd(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("lab is not up")
        return self.workdir

    @property
    def ssh_config(self) -> Path:
        return self._wd / "ssh_config"

    @property
    def inventory_path(self) -> Path:
        return self._wd / "inventory.yml"

    # ---- state --------------------------------------------------------------
    def _save_state(self) -> None:
        state.save(
            self.state_file,
            {
                "name": self.name,
                "prefix": self.prefix,
                "workdir": str(self.workdir) if self.workdir else None,
                "proxy_pid": self.proxy_pid,
                "servers": [
                    {"role": s.role, "name": s.name, "ip": s.ip, "state_file": str(s.state_file)}
                    for s in self.servers.values()
                ],
            },
        )

    # ---- lifecycle ----------------------------------------------------------
    def up(self, timeout: float = 180) -> Lab:
        """Boot the three servers (all started before any is waited for)."""
        ensure_host_packages()
        self.down()  # leftovers of a crashed run with this name
        tarball = rootfs_tarball(self.release)
        started = time.monotonic()
        self.workdir = workdir.create(self.name)
        self._save_state()
        try:
            network.create_lab(self.netns, self.bridge, self.veth_host, self.veth_lab, self.host_ip)
            self._proxy()
            # Two at a time (unpacking the rootfs is most of it; the machine has 2 cores).
            with ThreadPoolExecutor(2) as pool:
                starts = [pool.submit(s.start, tarball) for s in self.servers.values()]
                for done in starts:
                    done.result()
            deadline = time.monotonic() + timeout
            for srv in self.servers.values():
                srv.finish(max(30, deadline - time.monotonic()))
            self._write_client_files()
        except BaseException:
            log(f"lab {self.name}: bring-up failed; tearing down")
            self.down()
            raise
        log(f"lab {self.name} is up ({time.monotonic() - started:.0f}s)")
        return self

    def replace(self, role: str, timeout: float = 180) -> LabServer:
        """Lose the server ``role`` with its disk and boot a fresh one from the cached rootfs in
        its place (same name and address, a new SSH key and host key: rewrite the inventory)."""
        srv = self.servers[role]
        srv.down()
        srv.start(rootfs_tarball(self.release))
        srv.finish(timeout)
        self._write_client_files()
        self._save_state()
        return srv

    def _proxy(self) -> None:
        proc = proxy.start(self._wd, self.host_ip, self.prefix, prefix_len=24)
        self.proxy_pid = proc.pid
        self._save_state()
        proxy.check_started(proc, self._wd)

    def _write_client_files(self) -> None:
        self.ssh_config.write_text(
            "\n".join(
                ssh.host_entry([s.role, s.name, s.ip], s.ip, s.key_path, s.known_hosts)
                for s in self.servers.values()
            )
        )
        lines = ["---", "board_servers:", "  vars:", f"    base_apt_proxy: {self.proxy_url}"]
        lines.append("  children:")
        for group, roles in INVENTORY_GROUPS.items():
            lines += [f"    {group}:", "      hosts:"]
            for role in roles:
                s = self.servers[role]
                lines.append(f"        {s.name}:")
                lines.append(ssh.host_vars(s.ip, s.key_path, s.known_hosts, " " * 10).rstrip("\n"))
        self.inventory_path.write_text("\n".join(lines) + "\n")

    def down(self) -> None:
        """Stop the servers and the proxy, remove the network and work dirs; safe after a
        partial bring-up or a crashed run, and when already down."""
        with ThreadPoolExecutor(len(self.servers)) as pool:  # the containers stop together
            for done in [pool.submit(s.down, quiet_ok=True) for s in self.servers.values()]:
                done.result()
        for pid in proxy.pids(self.name, self.proxy_pid):
            terminate(pid, timeout=5)
        network.remove_lab(self.netns, self.veth_host)
        if self.workdir and self.workdir.exists():
            workdir.remove(self.workdir)
        for stale in workdir.stale(self.name):  # crashed runs that lost their state file
            workdir.remove(stale)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()
        for d in [self.state_dir, *(s.state_dir for s in self.servers.values())]:
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty
        self.workdir = None
        self.proxy_pid = None

    def describe(self) -> str:
        head = (
            f"lab={self.name} release={self.release} subnet={self.prefix}.0/24 host={self.host_ip} "
            f"proxy={self.proxy_url}\nworkdir={self.workdir}"
        )
        if self.workdir is None:
            return head
        hosts = [
            f"{s.role:5} {s.name} {s.ip} key={s.key_path if s.workdir else None}"
            for s in self.servers.values()
        ]
        return "\n".join(
            [
                head,
                *hosts,
                f"ssh: ssh -F {self.ssh_config} db|app1|app2",
                f"inventory={self.inventory_path}",
            ]
        )
