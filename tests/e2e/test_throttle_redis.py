"""Throttling on the provisioned host: counters in Redis, exact across Gunicorn's workers.

Requests go straight to Gunicorn's socket on the server, each on a new connection (so the
kernel hands them to different workers), as if nginx had forwarded them for one client address
made up for this run: the test counts in its own throttle bucket, and the other tests' requests
from the controller's address do not touch it. The anonymous rate comes from the test
inventory (app_throttle_anon_rate), read back from the server's environment file.
"""

from __future__ import annotations

import json
import re
import secrets
import time

import pytest
from support.roles import role_default
from support.throttle import GUNICORN_SOCKET, REQUESTS_SCRIPT

APP_ROOT = role_default("app", "app_root")
REDIS_SOCKET = "/run/redis/redis-server.sock"
REDIS_USER = "board"


def requests_for(provisioned, client: str, count: int, parallel: bool = False) -> list[list]:
    mode = " parallel" if parallel else ""
    out = provisioned.sh(
        f"python3 - {GUNICORN_SOCKET} {client} {count}{mode}", input=REQUESTS_SCRIPT
    )
    return json.loads(out.splitlines()[-1])


def redis_cli(provisioned, *commands: str, auth: bool = True) -> str:
    """redis-cli on the server; the password goes through stdin, never onto a command line."""
    lines = [f"AUTH {REDIS_USER} {provisioned.secrets['vault_redis_password']}"] if auth else []
    script = "\n".join([*lines, *commands]) + "\n"
    return provisioned.sh(f"redis-cli -s {REDIS_SOCKET}", input=script, check=False)


def gunicorn_workers(provisioned) -> tuple[str, set[str]]:
    main_pid = provisioned.sh("systemctl show -p MainPID --value gunicorn.service")
    return main_pid, set(provisioned.sh(f"pgrep -P {main_pid}").split())


@pytest.fixture(scope="module")
def anon_rate(provisioned) -> tuple[int, int]:
    line = provisioned.sh(f"grep '^THROTTLE_ANON_RATE=' {APP_ROOT}/shared/.env")
    match = re.fullmatch(r'THROTTLE_ANON_RATE="?(\d+)/([smhd])\w*"?', line)
    assert match, line
    return int(match.group(1)), {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def test_redis_listens_on_no_tcp_port(provisioned):
    assert provisioned.sh("systemctl is-active redis-server.service") == "active"
    listeners = provisioned.sh("ss -Hltnp")
    assert "redis" not in listeners, listeners
    assert re.search(r"^port 0$", provisioned.sh("cat /etc/redis/redis.conf"), re.M)
    refused = provisioned.testbed.ssh("redis-cli -h 127.0.0.1 -p 6379 PING", check=False)
    assert "PONG" not in refused.stdout
    assert "refused" in (refused.stdout + refused.stderr).lower()


def test_redis_refuses_unauthenticated_and_wrong_passwords(provisioned):
    assert "NOAUTH" in redis_cli(provisioned, "PING", auth=False)
    wrong = provisioned.sh(
        f"redis-cli -s {REDIS_SOCKET}",
        input=f"AUTH {REDIS_USER} wrong\nPING\n",
        check=False,
    )
    assert "WRONGPASS" in wrong and "PONG" not in wrong, wrong
    assert "PONG" in redis_cli(provisioned, "PING")
    # The app's user may not run administrative commands.
    assert "NOPERM" in redis_cli(provisioned, "CONFIG GET maxmemory")
    # No password in the config file, only its hash.
    config = provisioned.sh("cat /etc/redis/redis.conf")
    assert provisioned.secrets["vault_redis_password"] not in config
    assert "user default off" in config


def test_redis_socket_is_reachable_by_the_app_service_only(provisioned):
    assert provisioned.sh("stat -c '%a %U %G' /run/redis") == "2750 redis board-redis"
    assert provisioned.sh(f"stat -c '%a %U %G' {REDIS_SOCKET}") == "660 redis board-redis"
    # The app's login user is not in the group; only gunicorn.service gets it.
    denied = provisioned.testbed.ssh(f"runuser -u board -- redis-cli -s {REDIS_SOCKET} PING")
    assert "PONG" not in denied.stdout
    assert "ermission denied" in denied.stdout + denied.stderr
    groups = provisioned.sh("systemctl show -p SupplementaryGroups --value gunicorn.service")
    assert groups.split() == ["board-redis"]


def test_redis_memory_limit_and_no_persistence(provisioned):
    config = provisioned.sh("cat /etc/redis/redis.conf")
    assert re.search(r"^maxmemory \d+\w*$", config, re.M), config
    assert re.search(r"^maxmemory-policy volatile-ttl$", config, re.M)
    assert re.search(r'^save ""$', config, re.M) and re.search(r"^appendonly no$", config, re.M)


def test_anonymous_rate_is_exact_across_workers_and_survives_a_reload(provisioned, anon_rate):
    limit, window = anon_rate
    assert limit <= 100, "keep the test inventory's app_throttle_anon_rate small"
    expected_workers = int(
        provisioned.sh(f"sed -n 's/^workers = //p' {APP_ROOT}/shared/gunicorn.conf.py")
    )
    main_pid, workers = gunicorn_workers(provisioned)
    assert expected_workers >= 2 and len(workers) == expected_workers, (expected_workers, workers)

    client = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    started = time.monotonic()
    answers = requests_for(provisioned, client, limit + 1)
    elapsed = time.monotonic() - started
    print(
        f"\n{limit + 1} requests over {expected_workers} workers in {elapsed:.1f} s: "
        f"{[status for status, _ in answers]}"
    )
    assert elapsed < window, "the requests did not fit in one throttle window"
    assert [status for status, _ in answers[:limit]] == [200] * limit, answers
    status, retry_after = answers[limit]
    assert status == 429, answers
    assert retry_after is not None and 0 < int(retry_after) <= window

    # The counter is in Redis, with the window as its lifetime.
    key = f":1:throttle_anon_{client}"
    assert redis_cli(provisioned, f"EXISTS {key}").splitlines()[-1] == "1"
    assert 0 < int(redis_cli(provisioned, f"TTL {key}").splitlines()[-1]) <= window

    # A reload replaces every worker; the new ones still see the counter.
    provisioned.sh("systemctl reload gunicorn.service")
    provisioned.sh(
        f'for i in $(seq 100); do [ -z "$(comm -12 <(pgrep -P {main_pid} | sort) '
        f"<(printf '%s\\n' {' '.join(sorted(workers))} | sort))\" ] && exit 0; sleep 0.2; "
        "done; exit 1",
    )
    _, new_workers = gunicorn_workers(provisioned)
    assert new_workers and not (new_workers & workers)
    after = requests_for(provisioned, client, 2)
    assert [status for status, _ in after] == [429, 429], after
    assert time.monotonic() - started < window, "the reload took longer than the window"
    # Another client is counted on its own.
    other = f"198.19.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    assert requests_for(provisioned, other, 1)[0][0] == 200


def test_a_concurrent_burst_passes_exactly_the_limit(provisioned, anon_rate):
    """limit + 10 requests of one client at the same instant, spread over every worker: DRF's own
    read-then-write throttle lets most of them through; the Redis window passes exactly `limit`."""
    limit, _ = anon_rate
    client = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    answers = requests_for(provisioned, client, limit + 10, parallel=True)
    statuses = sorted(status for status, _ in answers)
    print(
        f"\nburst of {limit + 10} at once: {statuses.count(200)} x 200, {statuses.count(429)} x 429"
    )
    assert statuses == [200] * limit + [429] * 10, statuses
