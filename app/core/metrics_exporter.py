"""board-metrics: serves what every Gunicorn worker recorded (core/metrics.py) to Prometheus.

Runs as its own small process (board-metrics.service), never inside the public site: it merges
the files the workers write in the multiprocess directory on every scrape. Counters of workers
that exited stay in their files, so totals do not go backwards when Gunicorn replaces a worker
or reloads; the directory is emptied only when gunicorn.service starts again (a counter reset
Prometheus handles). While Gunicorn is stopped the directory is gone and nothing is served.

    python -m core.metrics_exporter --dir /run/board-metrics --address 127.0.0.1 --port 9808

With ``--login-file`` every scrape must carry HTTP basic auth: the file holds one line,
``USER:SHA256``, the hex SHA-256 of the password (a long random one from the vault, so no slow
hash is needed); it is read at every request, so a new password needs no restart. No file, or
one that cannot be read: every scrape is refused.

Imports no Django: it needs neither the settings nor their secrets.
"""

import argparse
import base64
import binascii
import glob
import hashlib
import hmac
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.multiprocess import MultiProcessCollector


class MultiprocessDirectoryCollector:
    """prometheus-client's multiprocess merge, tolerating a directory that comes and goes."""

    def __init__(self, path: str):
        self.path = path

    def collect(self):
        files = glob.glob(os.path.join(self.path, "*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)


def _login(path: str) -> tuple[str, str] | None:
    """(user, hex SHA-256 of the password) from the login file; None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as file:
            user, _, digest = file.readline().strip().partition(":")
    except OSError as exc:
        print(f"board-metrics: cannot read the login file: {exc}", file=sys.stderr, flush=True)
        return None
    return (user, digest.lower()) if user and digest else None


def _authorized(header: str, login: tuple[str, str] | None) -> bool:
    scheme, _, credentials = header.partition(" ")
    if login is None or scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    digest = hashlib.sha256(password.encode()).hexdigest()
    # Both compared in constant time, whichever differs.
    return bool(sep) & hmac.compare_digest(user, login[0]) & hmac.compare_digest(digest, login[1])


def requiring_login(app, login_file: str):
    """The WSGI app, answering 401 to a request without the login of `login_file`."""

    def guarded(environ, start_response):
        if _authorized(environ.get("HTTP_AUTHORIZATION", ""), _login(login_file)):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", 'Basic realm="board-metrics"'), ("Content-Type", "text/plain")],
        )
        return [b"Unauthorized\n"]

    return guarded


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir",
        default=os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""),
        help="the workers' multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)",
    )
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9808, help="port to listen on")
    parser.add_argument(
        "--login-file",
        default="",
        help="require HTTP basic auth: a file with one line USER:SHA256-OF-PASSWORD (hex)",
    )
    args = parser.parse_args(argv)
    if not args.dir:
        parser.error("name the multiprocess directory: --dir or PROMETHEUS_MULTIPROC_DIR")
    registry = CollectorRegistry()
    registry.register(MultiprocessDirectoryCollector(args.dir))
    app = make_wsgi_app(registry)
    if args.login_file:
        app = requiring_login(app, args.login_file)
    server = make_server(
        args.address, args.port, app, ThreadingWSGIServer, handler_class=_QuietHandler
    )
    login = f", login from {args.login_file}" if args.login_file else ""
    print(f"board-metrics: serving {args.dir} on {args.address}:{args.port}{login}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
