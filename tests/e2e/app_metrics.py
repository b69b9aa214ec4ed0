"""The app's metrics as Prometheus would read them: board-metrics.service on the server."""

from __future__ import annotations

import re
import time

from support.roles import role_default, role_var

# Where board-metrics listens on the single-server layout (the app role's defaults).
METRICS_ADDRESS = role_default("app", "app_metrics_listen_address")
METRICS_PORT = int(role_default("app", "app_metrics_port"))
METRICS_URL = f"http://{METRICS_ADDRESS}:{METRICS_PORT}/metrics"

# The login board-metrics requires: Prometheus's, whose password file the test reads on the server
# (the monitoring server is the test server).
SCRAPE_USER = role_default("exporters", "exporters_basic_auth_user")
SCRAPE_PASSWORD_FILE = role_var("monitoring", "__monitoring_scrape_password_file")

# Runs on the server (python3 is there; curl need not be): prints the exposition text, scraped
# with the login as Prometheus does.
_SCRAPE = (
    "python3 -c 'import base64, sys, urllib.request; "
    'login = base64.b64encode((sys.argv[2] + ":" + open(sys.argv[3]).read()).encode()).decode(); '
    'request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Basic " + login}); '
    "sys.stdout.write(urllib.request.urlopen(request, timeout=5).read().decode())' "
)
_SCRAPE_ARGS = f"{METRICS_URL} {SCRAPE_USER} {SCRAPE_PASSWORD_FILE}"

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$")


def scrape(provisioned, check: bool = True) -> str:
    return provisioned.sh(_SCRAPE + _SCRAPE_ARGS, check=check)


def answers(provisioned) -> bool:
    """board-metrics answers a scrape (with samples or, before any request, without)."""
    return provisioned.testbed.ssh(_SCRAPE + _SCRAPE_ARGS, timeout=30).returncode == 0


def _samples(text: str, name: str):
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] == name:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match["labels"] or ""))
            yield labels, float(match["value"])


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent, as for a counter not yet incremented)."""
    return next((value for found, value in _samples(text, name) if found == labels), 0.0)


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples that carry these labels (and any others)."""
    return sum(
        value
        for found, value in _samples(text, name)
        if all(found.get(k) == v for k, v in labels.items())
    )


def main_pid(provisioned, unit: str) -> int:
    return int(provisioned.sh(f"systemctl show -p MainPID --value {unit}"))


def wait_for(probe, timeout: float = 60.0, interval: float = 0.25) -> float:
    """Seconds until probe() is true (bounded wait); raises AssertionError past timeout."""
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true after {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - started
