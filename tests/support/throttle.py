"""Requests straight to Gunicorn's socket on a server, as if nginx had forwarded them for a client
address a test makes up: the test counts in its own throttle bucket, untouched by the requests
other tests send from the controller's address."""

from __future__ import annotations

from .roles import role_default

GUNICORN_SOCKET = role_default("app", "app_gunicorn_socket_path")

# Runs on the server: GET /api/v1/posts/ `count` times for one client address, one connection
# each, one after the other (or all at once with "parallel"); prints [status, Retry-After] per
# request as JSON.
REQUESTS_SCRIPT = r"""
import json, socket, sys, threading

sock_path, client, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
parallel = sys.argv[4:] == ["parallel"]
out = []


def one(start=None):
    if start is not None:
        start.wait()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(
        b"GET /api/v1/posts/ HTTP/1.0\r\nHost: board.test\r\nX-Forwarded-Proto: https\r\n"
        + b"X-Forwarded-For: " + client.encode() + b"\r\n\r\n"
    )
    data = b"".join(iter(lambda: s.recv(65536), b""))
    s.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    out.append([int(head[0].split()[1]), headers.get("retry-after")])


if parallel:
    start = threading.Barrier(count)
    threads = [threading.Thread(target=one, args=(start,)) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
else:
    for _ in range(count):
        one()
print(json.dumps(out))
"""
