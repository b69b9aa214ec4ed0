"""The server's network: a private network namespace joined to the host by a veth pair.

The host side of the /30 gets ``.1``, the server ``.2``.  The namespace has no other route
out, so the server reaches nothing but the host side (where the apt proxy listens).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal

from .commands import quiet, run


def veth_names(name: str) -> tuple[str, str]:
    """(host side, server side) interface names for an instance."""
    # interface names are limited to 15 characters
    short = name if len(name) <= 11 else (name[:6] + hashlib.sha256(name.encode()).hexdigest()[:5])
    return f"{short}-h", f"{short}-c"


def create(netns: str, veth_host: str, veth_guest: str, host_ip: str, ip: str) -> None:
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", veth_host, "type", "veth", "peer", "name", veth_guest])
    run(["ip", "link", "set", veth_guest, "netns", netns])
    run(["ip", "addr", "add", f"{host_ip}/30", "dev", veth_host])
    run(["ip", "link", "set", veth_host, "up"])
    nsx = ["ip", "netns", "exec", netns]
    run([*nsx, "ip", "addr", "add", f"{ip}/30", "dev", veth_guest])
    run([*nsx, "ip", "link", "set", veth_guest, "up"])
    run([*nsx, "ip", "link", "set", "lo", "up"])


def remove(netns: str, veth_host: str) -> None:
    """Delete the veth pair and the namespace; safe when they (partly) do not exist."""
    # Anything still inside the namespace (should be nothing after poweroff).
    leftover = quiet(["ip", "netns", "pids", netns]).stdout.split()
    for pid in leftover:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    quiet(["ip", "link", "del", veth_host])
    quiet(["ip", "netns", "del", netns])
