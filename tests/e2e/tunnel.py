"""An SSH tunnel to a port on the test server's loopback, the way the README tells an operator to
open the monitoring UIs (`ssh -L PORT:127.0.0.1:PORT SERVER`)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator

from .testbed import Testbed
from .testbed import ssh as testbed_ssh


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def ssh_tunnel(server: Testbed, remote_port: int) -> Iterator[int]:
    """`ssh -N -L` to `remote_port` on the server's loopback; yields the local port. Whether sshd
    lets the forwarded connection through shows only when a client uses it."""
    local = _free_port()
    argv = testbed_ssh.argv(server.key_path, server.known_hosts, f"root@{server.ip}", None)
    argv[1:1] = ["-N", "-o", "ExitOnForwardFailure=yes", "-L", f"{local}:127.0.0.1:{remote_port}"]
    tunnel = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), 1):
                break
            if tunnel.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the SSH tunnel to port {remote_port} did not open")
            time.sleep(0.2)
        yield local
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=10)
