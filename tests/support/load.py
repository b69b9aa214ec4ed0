"""A bounded HTTPS load generator for zero-downtime checks.

Threads send GET requests to the test server (SNI and Host set to the site's name, the
certificate verified against the site's own CA file), each on a new connection so every request
crosses nginx's accept path. It runs for at least `min_seconds`, then stops when told to,
or after `max_seconds` or `max_requests`, whichever comes first. Every exception and every
non-2xx answer counts as an error.

With `rate` (requests per second, all threads together) the threads pace themselves instead of
sending as fast as they can. The load is there to catch a request that fails while a release
switches, not to measure capacity: unpaced, new TLS connections take most of the two cores the
playbook under test needs, and every deploy under load runs twice as long.
"""

from __future__ import annotations

import collections
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    revisions: list[str] = field(default_factory=list)  # in the order they were first seen
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0.0
        return (
            f"load: {self.requests} requests in {self.seconds:.1f} s ({rate:.0f}/s), "
            f"{self.errors} errors, statuses {dict(self.statuses)}, "
            f"revisions served in order {[r[:10] for r in self.revisions]}"
        )


# Requests a second the zero-downtime checks send to one site in all (split between its app
# servers): a request every 40 ms meets any gap in serving longer than that. Each request is a
# new TLS connection, so a higher rate buys little resolution and takes the cores the playbook
# under test needs (at 100 a second, deploys under load ran about twice as long).
SWITCH_LOAD_RATE = 25


class HttpsConnection(http.client.HTTPSConnection):
    """Connects to an IP address while presenting (and verifying) the site's name."""

    def __init__(self, ip: str, server_name: str, context: ssl.SSLContext, timeout: float):
        super().__init__(ip, 443, context=context, timeout=timeout)
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


class HttpsLoad:
    def __init__(
        self,
        ip: str,
        server_name: str,
        cacert: str,
        paths: tuple[str, ...] = ("/healthz", "/readyz"),
        threads: int = 4,
        min_seconds: float = 0.0,
        max_seconds: float = 60.0,
        max_requests: int = 200_000,
        timeout: float = 10.0,
        rate: float | None = None,
    ):
        self.ip, self.server_name, self.paths = ip, server_name, paths
        self.context = ssl.create_default_context(cafile=cacert)
        self.threads, self.max_requests = threads, max_requests
        self.min_seconds, self.max_seconds = min_seconds, max_seconds
        self.timeout = timeout
        # Seconds between one thread's requests (each thread starts its share of `rate`).
        self.interval = threads / rate if rate else 0.0
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._started = 0.0

    def _record(self, status: int | None, revision: str | None, error: str | None) -> None:
        with self._lock:
            self.result.requests += 1
            if status is not None:
                self.result.statuses[status] += 1
            if revision and revision not in self.result.revisions:
                self.result.revisions.append(revision)
            if error is not None:
                self.result.errors += 1
                if len(self.result.error_samples) < 10:
                    self.result.error_samples.append(error)

    def _run(self, index: int) -> None:
        deadline = self._started + self.max_seconds
        n = index
        # Threads start spread over one interval, so a paced load is even, not in bursts.
        next_send = self._started + self.interval * index / self.threads
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self.result.requests >= self.max_requests:
                    return
            if self.interval:
                # A thread that fell behind (a slow answer) sends once at once, then keeps
                # its pace again: it never catches up in a burst.
                if self._stop.wait(max(0.0, next_send - time.monotonic())):
                    return
                next_send = max(next_send, time.monotonic() - self.interval) + self.interval
            path = self.paths[n % len(self.paths)]
            n += 1
            conn = HttpsConnection(self.ip, self.server_name, self.context, self.timeout)
            try:
                conn.request("GET", path, headers={"Host": self.server_name})
                response = conn.getresponse()
                response.read()
                status = response.status
                error = None if 200 <= status < 300 else f"{path} -> {status}"
                self._record(status, response.getheader("X-App-Revision"), error)
            except (OSError, http.client.HTTPException) as exc:
                self._record(None, None, f"{path} -> {exc.__class__.__name__}: {exc}")
            finally:
                conn.close()

    def __enter__(self) -> HttpsLoad:
        self._started = time.monotonic()
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, args=(i,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc) -> None:
        remaining = self.min_seconds - (time.monotonic() - self._started)
        if remaining > 0:
            time.sleep(remaining)
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.timeout + 5)
        self.result.seconds = time.monotonic() - self._started
