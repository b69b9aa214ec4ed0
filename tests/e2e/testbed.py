#!/usr/bin/env python3
"""Disposable Debian 12 server for the end-to-end tests.

A bookworm minbase root filesystem (debootstrap, cached as a tarball) is booted
with systemd-nspawn inside a private network namespace joined to the host by a
veth pair.  The host side runs tinyproxy so that apt on the test server can
reach the distribution archive; nothing else leaves the namespace.

Usable from pytest (see conftest.py) and as a CLI::

    python tests/e2e/testbed.py up      # build/boot, print connection details
    python tests/e2e/testbed.py ssh [CMD...]
    python tests/e2e/testbed.py status
    python tests/e2e/testbed.py down

Environment:
    TESTBED_NAME           instance name (default ``boardtest``); names the netns,
                           the veth pair, the state dir and the container hostname.
    TESTBED_SUBNET_PREFIX  first three octets of a /30 (default ``10.231.7``):
                           host side ``.1``, server ``.2``.
    TESTBED_MIRROR         Debian mirror URL override (default: read from the
                           machine's apt sources).
    TESTBED_CACHE_DIR      rootfs tarball cache (default /var/cache/board-testbed).
    TESTBED_KEEP_ROOTFS    if set to 1, ``down`` keeps the extracted rootfs.

Processes are only ever stopped by the PID this module recorded (or, for the
leftovers of a crashed run, by the PID of the systemd-nspawn process whose
command line names this instance's network namespace).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HOST_PACKAGES = {
    # executable -> Debian package providing it
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "tinyproxy": "tinyproxy",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}
SUITE = "bookworm"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
ROOTFS_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "sudo",
    "iproute2",
    "ca-certificates",
]
# Bump when the rootfs preparation below changes in a way the cache must see.
ROOTFS_FORMAT = "1"
PROXY_PORT = 8888
STATE_ROOT = Path("/run/board-testbed")
WORK_ROOT = Path("/var/tmp")


def log(msg: str) -> None:
    print(f"[testbed] {msg}", file=sys.stderr, flush=True)


def run(argv, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, text=True, **kw)


def quiet(argv) -> subprocess.CompletedProcess:
    """Run a cleanup command; failures are expected and ignored."""
    return subprocess.run(argv, check=False, text=True, capture_output=True)


# --------------------------------------------------------------------------
# Host preparation
# --------------------------------------------------------------------------
def ensure_host_packages() -> None:
    missing = sorted({pkg for exe, pkg in HOST_PACKAGES.items() if shutil.which(exe) is None})
    # An Ubuntu controller (a CI runner) needs Debian's keys to verify the bookworm archive.
    if not Path(DEBIAN_KEYRING).is_file():
        missing.append("debian-archive-keyring")
    if not missing:
        return
    log(f"installing host packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update"], env=env)
    run(["apt-get", "install", "-y", "--no-install-recommends", *missing], env=env)


def apt_mirror() -> str:
    """The Debian archive URL this machine itself uses (never hardcoded)."""
    override = os.environ.get("TESTBED_MIRROR")
    if override:
        return override
    candidates: list[tuple[str, str]] = []  # (uri, suites)
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("uris"):
                candidates.append((fields["uris"].split()[0], fields.get("suites", "")))
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines():
                m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m:
                    candidates.append((m.group(1), m.group(2)))
    for uri, suites in candidates:
        if SUITE in suites.split():
            return uri
    for uri, _ in candidates:
        if "security" not in uri:
            return uri
    raise RuntimeError("no Debian mirror found in the apt sources; set TESTBED_MIRROR")


def cache_dir() -> Path:
    return Path(os.environ.get("TESTBED_CACHE_DIR", "/var/cache/board-testbed"))


def rootfs_tarball() -> Path:
    """Build (once, under an exclusive file lock) and return the cached rootfs tarball."""
    mirror = apt_mirror()
    key = hashlib.sha256(
        "|".join([ROOTFS_FORMAT, SUITE, mirror, *ROOTFS_PACKAGES]).encode()
    ).hexdigest()[:12]
    cdir = cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    tarball = cdir / f"{SUITE}-minbase-{key}.tar.gz"
    with open(cdir / ".lock", "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)  # concurrent runs wait here
        if tarball.exists():
            return tarball
        ensure_host_packages()
        build = Path(tempfile.mkdtemp(prefix="build-", dir=cdir))
        try:
            rootfs = build / "rootfs"
            log(f"debootstrap {SUITE} from {mirror} (takes a minute or two)")
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--keyring={DEBIAN_KEYRING}",
                    "--include=" + ",".join(ROOTFS_PACKAGES),
                    SUITE,
                    str(rootfs),
                    mirror,
                ],
                stdout=subprocess.DEVNULL,
            )
            _prepare_cached_rootfs(rootfs)
            tmp = build / "rootfs.tar.gz"
            run(["tar", "-C", str(rootfs), "--numeric-owner", "-czf", str(tmp), "."])
            os.replace(tmp, tarball)
            log(f"cached rootfs at {tarball}")
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return tarball


def _prepare_cached_rootfs(rootfs: Path) -> None:
    """Per-image tweaks (things that are the same for every run)."""
    # Same apt sources as a Debian controller (archive, updates and security). Elsewhere (an
    # Ubuntu CI runner) or with TESTBED_MIRROR set, write bookworm sources from the mirror.
    host_sources = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    debian_host = host_sources and all("bookworm" in Path(src).read_text() for src in host_sources)
    with contextlib.suppress(FileNotFoundError):
        (rootfs / "etc/apt/sources.list").unlink()
    if debian_host and not os.environ.get("TESTBED_MIRROR"):
        for src in host_sources:
            shutil.copy(src, rootfs / "etc/apt/sources.list.d" / Path(src).name)
    else:
        mirror = apt_mirror().rstrip("/")
        security = mirror + "-security" if mirror.endswith("/debian") else mirror
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
            f"Types: deb\nURIs: {mirror}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {security}\nSuites: {SUITE}-security\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
    run(["chroot", str(rootfs), "apt-get", "clean"])
    # No DNS inside: apt goes through the proxy, everything else uses IPs.
    for p in ["etc/resolv.conf"]:
        with contextlib.suppress(FileNotFoundError):
            (rootfs / p).unlink()
    (rootfs / "etc/resolv.conf").write_text("# no resolver inside the test server\n")
    # Host keys and machine id are generated per run.
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    # Units that cannot work in a network-less container and only add noise.
    wants = rootfs / "etc/systemd/system"
    for unit in [
        "systemd-networkd-wait-online.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
    ]:
        link = wants / unit
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to("/dev/null")


# --------------------------------------------------------------------------
# The test bed
# --------------------------------------------------------------------------
class Testbed:
    def __init__(self, name: str | None = None, subnet_prefix: str | None = None):
        self.name = name or os.environ.get("TESTBED_NAME", "boardtest")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", self.name):
            raise ValueError(f"bad TESTBED_NAME {self.name!r}")
        self.prefix = subnet_prefix or os.environ.get("TESTBED_SUBNET_PREFIX", "10.231.7")
        if not re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", self.prefix):
            raise ValueError(f"bad TESTBED_SUBNET_PREFIX {self.prefix!r}")
        self.host_ip = f"{self.prefix}.1"
        self.ip = f"{self.prefix}.2"
        self.netns = f"tb-{self.name}"
        # interface names are limited to 15 characters
        short = (
            self.name
            if len(self.name) <= 11
            else (self.name[:6] + hashlib.sha256(self.name.encode()).hexdigest()[:5])
        )
        self.veth_host = f"{short}-h"
        self.veth_guest = f"{short}-c"
        self.proxy_url = f"http://{self.host_ip}:{PROXY_PORT}"
        self.state_dir = STATE_ROOT / self.name
        self.state_file = self.state_dir / "state.json"
        self.workdir: Path | None = None
        self.nspawn_pid: int | None = None
        self.proxy_pid: int | None = None
        if self.state_file.exists():
            self._load_state()

    # ---- paths inside the per-run work dir --------------------------------
    @property
    def rootfs(self) -> Path:
        return self._wd / "rootfs"

    @property
    def key_path(self) -> Path:
        return self._wd / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self._wd / "known_hosts"

    @property
    def ssh_config(self) -> Path:
        return self._wd / "ssh_config"

    @property
    def inventory_path(self) -> Path:
        return self._wd / "inventory.yml"

    @property
    def console_log(self) -> Path:
        return self._wd / "console.log"

    @property
    def _wd(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("test bed is not up")
        return self.workdir

    # ---- state ------------------------------------------------------------
    def _save_state(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "name": self.name,
            "prefix": self.prefix,
            "workdir": str(self.workdir) if self.workdir else None,
            "nspawn_pid": self.nspawn_pid,
            "proxy_pid": self.proxy_pid,
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_file)

    def _load_state(self) -> None:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return
        self.prefix = state.get("prefix") or self.prefix
        self.host_ip, self.ip = f"{self.prefix}.1", f"{self.prefix}.2"
        self.proxy_url = f"http://{self.host_ip}:{PROXY_PORT}"
        self.workdir = Path(state["workdir"]) if state.get("workdir") else None
        self.nspawn_pid = state.get("nspawn_pid")
        self.proxy_pid = state.get("proxy_pid")

    # ---- lifecycle --------------------------------------------------------
    def up(self, timeout: float = 180) -> Testbed:
        ensure_host_packages()
        self.down(quiet_ok=True)  # leftovers of a crashed run with this name
        tarball = rootfs_tarball()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"board-testbed-{self.name}.", dir=WORK_ROOT))
        os.chmod(self.workdir, 0o755)
        self._save_state()
        try:
            self._extract(tarball)
            self._keys()
            self._network()
            self._proxy()
            self._boot()
            self._save_state()
            self._wait_ready(timeout)
            self._write_client_files()
        except BaseException:
            log("bring-up failed; tearing down")
            self._dump_console()
            self.down(quiet_ok=True)
            raise
        return self

    def _extract(self, tarball: Path) -> None:
        self.rootfs.mkdir()
        run(["tar", "-C", str(self.rootfs), "--numeric-owner", "-xzf", str(tarball)])
        (self.rootfs / "etc/hostname").write_text(f"{self.name}\n")
        (self.rootfs / "etc/hosts").write_text(
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{self.name}\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
        )
        (self.rootfs / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")

    def _keys(self) -> None:
        run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"testbed-{self.name}",
                "-f",
                str(self.key_path),
            ]
        )
        ssh_dir = self.rootfs / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(ssh_dir, 0o700)
        auth = ssh_dir / "authorized_keys"
        shutil.copy(self.key_path.with_suffix(".pub"), auth)
        os.chmod(auth, 0o600)
        # Fresh host keys for this run, generated on the controller.
        run(["ssh-keygen", "-A", "-f", str(self.rootfs)], stdout=subprocess.DEVNULL)
        self.known_hosts.write_text("")

    def _network(self) -> None:
        run(["ip", "netns", "add", self.netns])
        run(["ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_guest])
        run(["ip", "link", "set", self.veth_guest, "netns", self.netns])
        run(["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.veth_host])
        run(["ip", "link", "set", self.veth_host, "up"])
        nsx = ["ip", "netns", "exec", self.netns]
        run([*nsx, "ip", "addr", "add", f"{self.ip}/30", "dev", self.veth_guest])
        run([*nsx, "ip", "link", "set", self.veth_guest, "up"])
        run([*nsx, "ip", "link", "set", "lo", "up"])

    def _proxy(self) -> None:
        conf = self._wd / "tinyproxy.conf"
        plog = self._wd / "tinyproxy.log"
        plog.touch()
        shutil.chown(plog, "tinyproxy", "tinyproxy")
        conf.write_text(
            "User tinyproxy\nGroup tinyproxy\n"
            f"Port {PROXY_PORT}\nListen {self.host_ip}\n"
            f"Allow {self.prefix}.0/30\n"
            "ConnectPort 443\nConnectPort 80\n"
            "Timeout 600\nMaxClients 50\nLogLevel Info\n"
            f'LogFile "{plog}"\n'
        )
        with open(self._wd / "tinyproxy.stderr", "w") as err:
            proc = subprocess.Popen(
                ["tinyproxy", "-d", "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        self.proxy_pid = proc.pid
        self._save_state()
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError("tinyproxy exited: " + (self._wd / "tinyproxy.stderr").read_text())

    def _boot(self) -> None:
        with open(self.console_log, "w") as console:
            proc = self._spawn_nspawn(console)
        self.nspawn_pid = proc.pid
        self._save_state()
        log(f"booting {self.name} (systemd-nspawn pid {proc.pid}) at {self.ip}")

    def _spawn_nspawn(self, console) -> subprocess.Popen:
        return subprocess.Popen(
            [
                "systemd-nspawn",
                "-D",
                str(self.rootfs),
                "-b",
                "--register=no",
                "--keep-unit",
                f"--network-namespace-path=/run/netns/{self.netns}",
                f"--machine={self.name}",
                "--resolv-conf=off",
                "--timezone=off",
                "--link-journal=no",
                "--console=read-only",
                # The container has its own network namespace, so letting it
                # manage netfilter there (ufw) cannot touch the host's rules.
                "--capability=CAP_NET_ADMIN",
            ],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not _pid_alive(self.nspawn_pid):
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

    def _write_client_files(self) -> None:
        self.ssh_config.write_text(
            f"Host {self.name} {self.ip}\n"
            f"  HostName {self.ip}\n"
            "  User root\n"
            f"  IdentityFile {self.key_path}\n"
            "  IdentitiesOnly yes\n"
            "  StrictHostKeyChecking accept-new\n"
            f"  UserKnownHostsFile {self.known_hosts}\n"
            "  BatchMode yes\n"
            "  ConnectTimeout 10\n"
            "  LogLevel ERROR\n"
        )
        common = " ".join(self._ssh_opts())
        self.inventory_path.write_text(
            "---\n"
            "all:\n"
            "  hosts:\n"
            f"    {self.name}:\n"
            f"      ansible_host: {self.ip}\n"
            "      ansible_user: root\n"
            f"      ansible_ssh_private_key_file: {self.key_path}\n"
            f"      ansible_ssh_common_args: {json.dumps(common)}\n"
        )

    def _ssh_opts(self) -> list[str]:
        return [
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
        ]

    def ssh_argv(self, cmd: str | None = None, user: str = "root") -> list[str]:
        argv = ["ssh", "-i", str(self.key_path), *self._ssh_opts(), f"{user}@{self.ip}"]
        if cmd is not None:
            argv.append(cmd)
        return argv

    def ssh(
        self, cmd: str, check: bool = False, timeout: float | None = 300, input: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run a shell command on the test server as root; returns CompletedProcess (text)."""
        try:
            r = subprocess.run(
                self.ssh_argv(cmd),
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

    def _dump_console(self) -> None:
        with contextlib.suppress(Exception):
            tail = self.console_log.read_text(errors="replace").splitlines()[-40:]
            log("console tail:\n" + "\n".join(tail))

    def down(self, quiet_ok: bool = False) -> None:
        """Tear everything down; safe after a partial bring-up or a crashed run."""
        pids = []
        if self.nspawn_pid and _is_our_nspawn(self.nspawn_pid, self.netns):
            pids.append(self.nspawn_pid)
        for pid in _find_nspawn_pids(self.netns):
            if pid not in pids:
                pids.append(pid)
        for pid in pids:
            log(f"stopping systemd-nspawn pid {pid}")
            _terminate(pid, timeout=45)
        proxies = _find_proxy_pids(self.name)
        if self.proxy_pid and _cmdline_has(self.proxy_pid, "tinyproxy"):
            proxies = sorted({self.proxy_pid, *proxies})
        for pid in proxies:
            _terminate(pid, timeout=5)
        # Anything still inside the namespace (should be nothing after poweroff).
        leftover = quiet(["ip", "netns", "pids", self.netns]).stdout.split()
        for pid in leftover:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        quiet(["ip", "link", "del", self.veth_host])
        quiet(["ip", "netns", "del", self.netns])
        if self.workdir and self.workdir.exists():
            if os.environ.get("TESTBED_KEEP_ROOTFS") == "1":
                log(f"keeping {self.workdir}")
            else:
                _rmtree_rootfs(self.workdir)
        # crashed runs that lost their state file: stale work dirs with our name
        # ("." cannot occur in a name, so this never matches another instance's dirs)
        for stale in WORK_ROOT.glob(f"board-testbed-{self.name}.*"):
            if stale != self.workdir and not _find_nspawn_pids(self.netns):
                _rmtree_rootfs(stale)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()
        self.workdir = None
        self.nspawn_pid = self.proxy_pid = None

    def describe(self) -> str:
        return (
            f"name={self.name} server={self.ip} host={self.host_ip} proxy={self.proxy_url}\n"
            f"workdir={self.workdir}\nkey={self.key_path if self.workdir else None}\n"
            f"ssh: ssh -F {self.ssh_config} {self.name}\n"
            f"inventory={self.inventory_path if self.workdir else None}"
        )


# --------------------------------------------------------------------------
# process helpers (always by PID)
# --------------------------------------------------------------------------
def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _cmdline_has(pid: int, word: str) -> bool:
    return any(word in Path(a).name for a in _cmdline(pid)[:1])


def _is_our_nspawn(pid: int, netns: str) -> bool:
    argv = _cmdline(pid)
    return (
        bool(argv)
        and Path(argv[0]).name == "systemd-nspawn"
        and f"--network-namespace-path=/run/netns/{netns}" in argv
    )


def _find_nspawn_pids(netns: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and _is_our_nspawn(int(d.name), netns):
            pids.append(int(d.name))
    return pids


def _find_proxy_pids(name: str) -> list[int]:
    """tinyproxy processes started for this instance (their -c file is in its work dir)."""
    prefix = f"{WORK_ROOT}/board-testbed-{name}."
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            argv = _cmdline(int(d.name))
            if (
                argv
                and Path(argv[0]).name == "tinyproxy"
                and any(a.startswith(prefix) for a in argv[1:])
            ):
                pids.append(int(d.name))
    return pids


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # reap if it is our child and already exited
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.3)
    log(f"pid {pid} ignored SIGTERM for {timeout}s; sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not _pid_alive(pid):
            return
        time.sleep(0.1)


def _rmtree_rootfs(path: Path) -> None:
    # Never delete a tree a container still runs from, nor follow into host mounts.
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            argv = _cmdline(int(d.name))
            if argv and Path(argv[0]).name == "systemd-nspawn" and str(path / "rootfs") in argv:
                log(f"not removing {path}: systemd-nspawn pid {d.name} still uses it")
                return
    mounts = Path("/proc/mounts").read_text()
    if f" {path}/" in mounts or f" {path} " in mounts:
        log(f"not removing {path}: still has mounts")
        return
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="build (if needed) and boot the test server")
    sub.add_parser("down", help="stop the test server and remove everything")
    sub.add_parser("status", help="print connection details")
    sub.add_parser("build", help="only build the cached rootfs tarball")
    p_ssh = sub.add_parser("ssh", help="ssh to the test server as root")
    p_ssh.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("testbed needs root (netns, nspawn)", file=sys.stderr)
        return 2
    tb = Testbed()
    if args.cmd == "up":
        tb.up()
        print(tb.describe())
    elif args.cmd == "down":
        tb.down()
    elif args.cmd == "build":
        print(rootfs_tarball())
    elif args.cmd == "status":
        if tb.workdir is None:
            print(f"{tb.name}: not up")
            return 1
        print(tb.describe())
    elif args.cmd == "ssh":
        if tb.workdir is None:
            print(f"{tb.name}: not up", file=sys.stderr)
            return 1
        # like ssh(1): the remote shell sees the arguments joined by spaces
        cmd = " ".join(args.command) if args.command else None
        argv2 = tb.ssh_argv(cmd)
        if cmd is None:
            argv2.insert(1, "-t")
        os.execvp(argv2[0], argv2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
