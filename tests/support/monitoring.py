"""Helpers for the monitoring tests: Prometheus's and Alertmanager's HTTP APIs, read on the test
server itself (both listen on its loopback only), and the services the drills break."""

from __future__ import annotations

import json
import shlex
import time
from urllib.parse import urlencode

PROMETHEUS = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"

# Every exporter and the monitoring stack: systemd unit -> its loopback port.
EXPORTERS = {
    "prometheus-node-exporter": 9100,
    "prometheus-postgres-exporter": 9187,
    "prometheus-redis-exporter": 9121,
    "prometheus-nginx-exporter": 9113,
    "prometheus-blackbox-exporter": 9115,
}
MONITORING = {"prometheus": 9090, "prometheus-alertmanager": 9093}


def http_get(server, url: str) -> str:
    """GET `url` on the test server (python3 is there for Ansible); the body."""
    code = (
        "import sys, urllib.request; "
        "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"
    )
    return server.sh(f"python3 -c {shlex.quote(code)} {shlex.quote(url)}", timeout=30)


def http_status(server, url: str) -> int:
    """GET `url` on the test server without credentials; the HTTP status code."""
    code = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n"
        "    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)\n"
        "except urllib.error.HTTPError as error:\n"
        "    print(error.code)\n"
    )
    return int(server.sh(f"python3 -c {shlex.quote(code)} {shlex.quote(url)}", timeout=30))


def api(server, base: str, path: str, **params) -> dict | list:
    url = f"{base}{path}" + (f"?{urlencode(params)}" if params else "")
    body = json.loads(http_get(server, url))
    return body["data"] if isinstance(body, dict) and "data" in body else body


def query(server, expr: str) -> list[dict]:
    """An instant PromQL query: [{metric: {...}, value: [t, "v"]}, ...]."""
    return api(server, PROMETHEUS, "/api/v1/query", query=expr)["result"]


def loaded_rules(server) -> list[dict]:
    """Every rule the server's Prometheus loaded ({name, query, ...}), from all its groups."""
    groups = api(server, PROMETHEUS, "/api/v1/rules")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def loaded_rule_query(server, alert: str) -> str:
    """The PromQL of alert rule `alert` as the server's Prometheus loaded it."""
    for rule in loaded_rules(server):
        if rule["type"] == "alerting" and rule["name"] == alert:
            return rule["query"]
    raise AssertionError(f"Prometheus has no alert rule {alert}")


def wait_until(predicate, timeout: float, interval: float = 1.0, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(interval)
