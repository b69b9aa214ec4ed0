"""Prometheus on the database server scrapes the app servers over the private network, where the
firewall admits it alone and the exporters that can require the scrape login."""

from __future__ import annotations

from e2e.testbed import releases
from support.monitoring import http_status, query, wait_until
from support.roles import release_var

from .cluster import APP_SERVERS, INVENTORY_HOSTS

# Each app server's targets: its node and nginx exporters and the app's metrics.
APP_JOBS = ("node", "nginx", "board")
# Those that require the login on the lab's release: the exporters that take the exporter
# toolkit's web config there (the exporters role's vars: nginx from Debian 13 on), and the app's.
WEB_CONFIG_JOBS = release_var(
    "exporters", "__exporters_web_config_jobs", releases.VERSIONS[releases.LAB]
)
LOGIN_JOBS = [job for job in APP_JOBS if job in WEB_CONFIG_JOBS or job == "board"]


def test_prometheus_scrapes_the_app_servers_whose_exporters_require_the_login(cluster):
    db = cluster.server("db")
    hosts = {INVENTORY_HOSTS[role] for role in APP_SERVERS}
    expected = {(job, host) for job in APP_JOBS for host in hosts}

    def up() -> dict[tuple[str, str], str]:
        return {
            (r["metric"]["job"], r["metric"]["host"]): r["metric"]["instance"]
            for r in query(db, "up == 1")
        }

    targets = wait_until(
        lambda: (found := up()).keys() >= expected and found,
        timeout=180,
        what="every app server target up",
    )
    # The same targets, asked from the monitoring server without the login.
    for host in sorted(hosts):
        for job in LOGIN_JOBS:
            instance = targets[(job, host)]
            assert not instance.startswith("127."), instance
            assert http_status(db, f"http://{instance}/metrics") == 401, (job, instance)
    print(f"{releases.LAB}: {', '.join(LOGIN_JOBS)} require the login on every app server")
