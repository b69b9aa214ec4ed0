"""Prometheus on the database server scrapes the app servers over the private network, where the
firewall admits it alone and the exporters that can require the scrape login."""

from __future__ import annotations

from support.monitoring import http_status, query, wait_until

from .cluster import APP_SERVERS, INVENTORY_HOSTS

# Each app server's targets: its node exporter (login required), nginx exporter and app metrics.
APP_JOBS = ("node", "nginx", "board")


def test_prometheus_scrapes_the_app_servers_and_their_node_exporters_require_the_login(cluster):
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
        timeout=120,
        what="every app server target up",
    )
    # The same exporter, asked from the monitoring server without the login.
    for host in sorted(hosts):
        instance = targets[("node", host)]
        assert not instance.startswith("127."), instance
        assert http_status(db, f"http://{instance}/metrics") == 401, instance
