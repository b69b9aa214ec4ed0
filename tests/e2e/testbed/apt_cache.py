"""The machine's apt cache: one apt-cacher-ng on 127.0.0.1 that every test bed's proxy forwards
the Debian archive to, so a .deb crosses the network once per machine, not once per host and run.

Every host of every test bed (the single server, the lab's servers, the disaster-recovery host)
installs the same packages from the same archive. Each test bed keeps its own tinyproxy
(proxy.py: reachable only from its subnet); that proxy sends the archive's requests here. This
cache listens on the loopback only, so no test bed and nothing outside the machine reaches it
directly. It is shared by the test beds and outlives them (like the rootfs tarballs): the first
test bed that needs it starts it, under a file lock; ``cache-stop`` stops it by its PID.

Its files, in ``<cache dir>/apt-cacher-ng/`` (rootfs.cache_dir): ``conf/``, ``cache/``,
``run/``, ``log/`` (``apt-cacher.log``: one line per transfer, ``I`` the bytes fetched from the
archive, ``O`` the bytes served) and ``pid``, the PID recorded at its start.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .commands import log
from .processes import cmdline, pid_alive, terminate
from .rootfs import cache_dir

HOST = "127.0.0.1"
# Not apt-cacher-ng's default 3142: the package's own service may listen there on a systemd
# controller, with its own configuration.
PORT = 3143
PROGRAM = "apt-cacher-ng"
USER = "apt-cacher-ng"  # created by the Debian package
START_TIMEOUT = 30  # seconds until it must accept connections


def root() -> Path:
    return cache_dir() / "apt-cacher-ng"


def address() -> str:
    return f"{HOST}:{PORT}"


def _config(top: Path) -> str:
    # No Remap-* lines: requests are cached under the URL they name, whatever the archive.
    return (
        "# Written by tests/e2e/testbed/apt_cache.py for the test beds' shared apt cache.\n"
        f"CacheDir: {top / 'cache'}\n"
        f"LogDir: {top / 'log'}\n"
        "SupportDir: /usr/lib/apt-cacher-ng\n"
        f"Port: {PORT}\n"
        f"BindAddress: {HOST}\n"
        f"SocketPath: {top / 'run' / 'socket'}\n"
        # No tunnels: the test beds' https requests go from tinyproxy to the archive directly.
        "PassThroughPattern: ^$\n"
    )


def _ours(pid: int | None, conf: Path) -> bool:
    argv = cmdline(pid) if pid else []
    return bool(argv) and Path(argv[0]).name == PROGRAM and str(conf) in argv


def _recorded_pid(top: Path) -> int | None:
    try:
        return int((top / "pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _accepts() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return True
    except OSError:
        return False


def running() -> bool:
    top = root()
    pid = _recorded_pid(top)
    return _ours(pid, top / "conf") and pid_alive(pid) and _accepts()


def ensure_running() -> str:
    """Start the shared cache unless it runs already; its ``host:port``."""
    top = root()
    conf = top / "conf"
    top.mkdir(parents=True, exist_ok=True)
    with open(top / ".lock", "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)  # concurrent bring-ups start one cache
        if running():
            return address()
        user = pwd.getpwnam(USER)
        conf.mkdir(exist_ok=True)
        (conf / "acng.conf").write_text(_config(top))
        for d in (top / "cache", top / "log", top / "run"):
            d.mkdir(exist_ok=True)
            shutil.chown(d, user.pw_uid, user.pw_gid)
        with open(top / "stderr", "w") as err:
            proc = subprocess.Popen(
                # -c names our configuration only: the machine's /etc/apt-cacher-ng is not read.
                [PROGRAM, "-c", str(conf), "ForeGround=1"],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user.pw_uid,
                group=user.pw_gid,
                extra_groups=[],
            )
        (top / "pid").write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepts():
            if proc.poll() is not None or time.monotonic() > deadline:
                terminate(proc.pid, timeout=5)
                raise RuntimeError(
                    f"apt-cacher-ng did not start on {address()}: " + (top / "stderr").read_text()
                )
            time.sleep(0.3)
        log(f"apt cache (apt-cacher-ng pid {proc.pid}) on {address()}, files in {top}")
        return address()


def stop() -> None:
    """Stop the shared cache (by its recorded PID); its files stay for the next run."""
    top = root()
    pid = _recorded_pid(top)
    if _ours(pid, top / "conf"):
        log(f"stopping apt-cacher-ng pid {pid}")
        terminate(pid, timeout=10)


@dataclass
class Traffic:
    fetched: int  # bytes apt-cacher-ng downloaded from the archive
    served: int  # bytes it sent to the test beds' proxies

    @property
    def from_cache(self) -> int:
        return max(0, self.served - self.fetched)


def traffic(since: float = 0, url: str = "") -> Traffic:
    """Bytes in and out of the cache since the Unix time ``since`` (its transfer log), for the
    file of ``url`` (scheme-less, as the log names it) when given."""
    fetched = served = 0
    logf = root() / "log" / "apt-cacher.log"
    if logf.exists():
        for line in logf.read_text(errors="replace").splitlines():
            fields = line.split("|")
            if len(fields) < 5 or not fields[0].isdigit() or int(fields[0]) < since:
                continue
            if url and fields[4] != url:
                continue
            if fields[1] == "I":
                fetched += int(fields[2])
            elif fields[1] == "O":
                served += int(fields[2])
    return Traffic(fetched, served)


def enabled() -> bool:
    """TESTBED_APT_CACHE=0 turns the cache off (tinyproxy then forwards to the archive)."""
    return os.environ.get("TESTBED_APT_CACHE", "1") != "0"
