"""One client's anonymous rate holds across both app servers: the counters live in the shared
database (Django's database cache), not in each server's memory.

As in tests/e2e/test_throttle_redis.py, requests go straight to each server's Gunicorn socket as
if nginx had forwarded them for a client address made up for this test, so no other test's
requests count in its bucket.
"""

from __future__ import annotations

import json
import re
import secrets

from support.throttle import GUNICORN_SOCKET, REQUESTS_SCRIPT

from .cluster import APP_ROOT


def requests_on(cluster, role: str, client: str, count: int) -> list[int]:
    out = cluster.sh(role, f"python3 - {GUNICORN_SOCKET} {client} {count}", input=REQUESTS_SCRIPT)
    return [status for status, _ in json.loads(out.splitlines()[-1])]


def test_anonymous_rate_is_counted_once_across_app_servers(cluster):
    line = cluster.sh("app1", f"grep '^THROTTLE_ANON_RATE=' {APP_ROOT}/shared/.env")
    match = re.fullmatch(r'THROTTLE_ANON_RATE="?(\d+)/m\w*"?', line)
    assert match, line
    limit = int(match.group(1))
    client = f"198.51.100.{secrets.randbelow(250) + 1}"
    first = requests_on(cluster, "app1", client, limit // 2)
    second = requests_on(cluster, "app2", client, limit - limit // 2)
    assert first + second == [200] * limit
    # The next request is over the rate on either server: both read the same counter.
    assert requests_on(cluster, "app1", client, 1) == [429]
    assert requests_on(cluster, "app2", client, 1) == [429]
    # Another client is not affected.
    assert requests_on(cluster, "app2", f"203.0.113.{secrets.randbelow(250) + 1}", 1) == [200]
