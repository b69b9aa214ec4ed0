"""The alert sink of the fault tests: Alertmanager's webhook receiver, run by the test on the
controller (the host side of the test bed's veth), recording every notification it gets.

The test inventory points Alertmanager at ``http://<host side>:ALERT_SINK_PORT/alerts``
(conftest.py writes it into testbed.yml).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Fixed: each test bed has its own host-side address, so two test beds never share the port.
ALERT_SINK_PORT = 9199


@dataclass(frozen=True)
class Notification:
    """One alert of one webhook call: when it arrived, its status and labels."""

    received: float
    status: str
    labels: dict


class AlertSink:
    """A webhook receiver in a thread: start(), then wait_for(...) alerts; stop() at the end."""

    def __init__(self, address: str, port: int = ALERT_SINK_PORT):
        self.address, self.port = address, port
        self.notifications: list[Notification] = []
        self._changed = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.monotonic()
                payload = json.loads(body or b"{}")
                with sink._changed:
                    for alert in payload.get("alerts", []):
                        sink.notifications.append(
                            Notification(now, alert.get("status", ""), alert.get("labels", {}))
                        )
                    sink._changed.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer((address, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> AlertSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def matching(self, alertname: str, status: str = "firing", since: float = 0.0, **labels):
        with self._changed:
            return [
                n
                for n in self.notifications
                if n.received >= since
                and n.status == status
                and n.labels.get("alertname") == alertname
                and all(n.labels.get(k) == v for k, v in labels.items())
            ]

    def wait_for(
        self,
        alertname: str,
        status: str = "firing",
        since: float = 0.0,
        timeout: float = 300,
        **labels,
    ) -> Notification | None:
        """The first matching notification received at or after `since` (time.monotonic()),
        waiting up to `timeout` seconds; None when none came."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self.matching(alertname, status, since, **labels)
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
