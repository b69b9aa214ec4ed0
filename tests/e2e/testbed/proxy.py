"""tinyproxy on the host side of the veth: the server's only way to the Debian archive.

It listens on the host address of the /30 and allows only that /30, so nothing but the test
server can use it.  A lab's proxy listens on the host address of the lab's /24 and allows
that /24 (``prefix_len=24``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from . import workdir
from .processes import cmdline_has, find_pids

PROXY_PORT = 8888


def url(host_ip: str) -> str:
    return f"http://{host_ip}:{PROXY_PORT}"


def start(wd: Path, host_ip: str, prefix: str, prefix_len: int = 30) -> subprocess.Popen:
    """Start tinyproxy with its config and logs in the work dir ``wd``, allowing
    ``<prefix>.0/<prefix_len>``."""
    conf = wd / "tinyproxy.conf"
    plog = wd / "tinyproxy.log"
    plog.touch()
    shutil.chown(plog, "tinyproxy", "tinyproxy")
    conf.write_text(
        "User tinyproxy\nGroup tinyproxy\n"
        f"Port {PROXY_PORT}\nListen {host_ip}\n"
        f"Allow {prefix}.0/{prefix_len}\n"
        "ConnectPort 443\nConnectPort 80\n"
        "Timeout 600\nMaxClients 50\nLogLevel Info\n"
        f'LogFile "{plog}"\n'
    )
    with open(wd / "tinyproxy.stderr", "w") as err:
        proc = subprocess.Popen(
            ["tinyproxy", "-d", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    return proc


def check_started(proc: subprocess.Popen, wd: Path) -> None:
    time.sleep(0.5)
    if proc.poll() is not None:
        raise RuntimeError("tinyproxy exited: " + (wd / "tinyproxy.stderr").read_text())


def pids(name: str, recorded: int | None) -> list[int]:
    """The recorded proxy PID and the tinyproxy processes started for this instance
    (their -c file is in one of its work dirs)."""
    found = find_pids("tinyproxy", lambda args: any(_in_workdir(a, name) for a in args))
    if recorded and cmdline_has(recorded, "tinyproxy"):
        found = sorted({recorded, *found})
    return found


def _in_workdir(arg: str, name: str) -> bool:
    return arg.startswith(f"{workdir.WORK_ROOT}/{workdir.prefix(name)}")
