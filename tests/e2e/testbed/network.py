"""The server's network: a private network namespace joined to the host by a veth pair.

The host side of the /30 gets ``.1``, the server ``.2``.  The namespace has no other route
out, so the server reaches nothing but the host side (where the apt proxy listens).

A lab (see lab.py) has one more namespace holding a bridge: a veth pair joins it to the host
(the host side gets ``.1`` of the lab's /24), and each server's namespace has a veth whose
peer is a port of that bridge.  Nothing routes or forwards: the servers reach only the /24.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal

from .commands import quiet, run


def _short(name: str) -> str:
    # interface names are limited to 15 characters: at most 11 here, plus a suffix of <= 3
    return name if len(name) <= 11 else (name[:6] + hashlib.sha256(name.encode()).hexdigest()[:5])


def veth_names(name: str) -> tuple[str, str]:
    """(host side, server side) interface names for an instance."""
    short = _short(name)
    return f"{short}-h", f"{short}-c"


def bridge_name(name: str) -> str:
    """The bridge of a lab (in the lab's namespace)."""
    return f"{_short(name)}-br"


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
    _kill_inside(netns)
    quiet(["ip", "link", "del", veth_host])
    quiet(["ip", "netns", "del", netns])


def _kill_inside(netns: str) -> None:
    """Anything still inside the namespace (should be nothing after poweroff)."""
    leftover = quiet(["ip", "netns", "pids", netns]).stdout.split()
    for pid in leftover:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def create_lab(netns: str, bridge: str, veth_host: str, veth_lab: str, host_ip: str) -> None:
    """The lab's namespace with its bridge, joined to the host by ``veth_host`` (``host_ip``/24)."""
    run(["ip", "netns", "add", netns])
    nsx = ["ip", "netns", "exec", netns]
    # A new namespace copies the host's ip_forward; the bridge needs none (layer 2 only).
    run([*nsx, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
    run(["ip", "-n", netns, "link", "add", bridge, "type", "bridge"])
    run(["ip", "link", "add", veth_host, "type", "veth", "peer", "name", veth_lab, "netns", netns])
    run(["ip", "addr", "add", f"{host_ip}/24", "dev", veth_host])
    # The host may forward (containers, VMs): never what arrives from the lab.
    run(["sysctl", "-q", "-w", f"net.ipv4.conf.{veth_host}.forwarding=0"])
    run(["ip", "link", "set", veth_host, "up"])
    run(["ip", "-n", netns, "link", "set", veth_lab, "master", bridge, "up"])
    run(["ip", "-n", netns, "link", "set", bridge, "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])


def join_lab(
    lab_netns: str, bridge: str, netns: str, veth_lab: str, veth_guest: str, ip: str
) -> None:
    """A server's namespace, its veth (``ip``/24) paired with a port of the lab's bridge."""
    run(["ip", "netns", "add", netns])
    run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
    # Both ends are made in their namespaces: the host's interface names are never touched.
    run(
        ["ip", "-n", lab_netns, "link", "add", veth_lab, "type", "veth"]
        + ["peer", "name", veth_guest, "netns", netns]
    )
    run(["ip", "-n", lab_netns, "link", "set", veth_lab, "master", bridge, "up"])
    run(["ip", "-n", netns, "addr", "add", f"{ip}/24", "dev", veth_guest])
    run(["ip", "-n", netns, "link", "set", veth_guest, "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])


def leave_lab(lab_netns: str, netns: str, veth_lab: str) -> None:
    """Undo ``join_lab``; safe when the pieces (partly) do not exist."""
    _kill_inside(netns)
    quiet(["ip", "-n", lab_netns, "link", "del", veth_lab])
    quiet(["ip", "netns", "del", netns])


def remove_lab(netns: str, veth_host: str) -> None:
    """Undo ``create_lab`` (the bridge goes with the namespace); safe when partly done."""
    _kill_inside(netns)
    quiet(["ip", "link", "del", veth_host])
    quiet(["ip", "netns", "del", netns])
