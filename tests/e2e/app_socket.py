"""GET from Gunicorn's unix socket on the test server, past nginx: python3 on the server (it has
no curl), run over SSH."""

from __future__ import annotations

import shlex

from support.roles import role_default

SOCKET = role_default("app", "app_gunicorn_socket_path")


def socket_get(path: str) -> str:
    """Python source of `get()`: GET `path` from Gunicorn's socket, the whole response as text."""
    return f"""
import socket
def get():
    s = socket.socket(socket.AF_UNIX)
    s.connect({SOCKET!r})
    s.sendall(b"GET {path} HTTP/1.0\\r\\nHost: board.test\\r\\n\\r\\n")
    return b"".join(iter(lambda: s.recv(65536), b"")).decode()
"""


def get_over_socket(path: str) -> str:
    """Shell command: GET `path` from Gunicorn's socket."""
    return f"python3 -c {shlex.quote(socket_get(path) + 'print(get())')}"


def until_socket_answers(text: str, path: str = "/healthz") -> str:
    """Shell command: GET `path` from Gunicorn's socket every 0.2 s until the response holds
    `text`; fails after 50 tries."""
    return (
        f"for i in $(seq 50); do {get_over_socket(path)} | grep -q '{text}' && exit 0; "
        "sleep 0.2; done; exit 1"
    )


# GET /healthz from Gunicorn's socket every 0.2 s, one status line (or error) per probe, until
# the SSH session ends.
PROBE_LOOP = (
    socket_get("/healthz")
    + """
import time
socket.setdefaulttimeout(30)
while True:
    try:
        print(get().split("\\r\\n", 1)[0])
    except OSError as exc:
        print("error:", exc)
    time.sleep(0.2)
"""
)
