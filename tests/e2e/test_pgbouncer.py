"""PgBouncer in front of PostgreSQL on the single test server (its inventory turns it on): the
app's runtime connections are the pool's, whatever the load; clients need TLS and SCRAM; the
pool metrics are scraped (and say when PgBouncer is down); a kill -9 heals. The figures
(connections at the database and at PgBouncer under load, seconds back after the kill) are
printed, not asserted against a time.
"""

from __future__ import annotations

import re
import shlex
import threading
import time

import pytest
from support.least_privilege import DB, RUNTIME
from support.load import HttpsLoad
from support.monitoring import loaded_rule_query, query, wait_until
from support.pgbouncer import CONF, setting
from support.roles import role_default
from support.textfile_metrics import TEXTFILE_DIR, parse_metrics
from support.unit_faults import kill_and_wait_restart

PORT = role_default("pgbouncer", "pgbouncer_port")
AUTH_FILE = f"{role_default('pgbouncer', 'pgbouncer_conf_dir')}/userlist.txt"
# The pgbouncer role's pool metrics (board-pgbouncer-metrics).
METRICS_FILE = "board_pgbouncer.prom"
# Load threads: more than Gunicorn's threads (5 workers x 2 on the test server's 2 vCPUs), so every
# Gunicorn thread holds a client connection to PgBouncer at once.
LOAD_THREADS = 16
LOAD_SECONDS = 12


@pytest.fixture(scope="module")
def server(provisioned):
    return provisioned.testbed


def _su_psql(server, sql: str) -> str:
    return server.sh(f"cd / && runuser -u postgres -- psql -XAtq -d {DB} -c {shlex.quote(sql)}")


def _runtime_psql(server, password: str, conninfo: str, sql: str = "SELECT 1"):
    """psql as the runtime role through PgBouncer; the password travels on stdin, never argv."""
    script = (
        f"export PGPASSWORD={shlex.quote(password)} PGCONNECT_TIMEOUT=10\n"
        f"exec psql -XAtq -v ON_ERROR_STOP=1 "
        f"{shlex.quote(f'host=127.0.0.1 port={PORT} dbname={DB} user={RUNTIME} {conninfo}')} "
        f"-c {shlex.quote(sql)}\n"
    )
    return server.ssh("bash -s", input=script)


def _backends(server) -> tuple[int, int]:
    """The runtime role's backends at PostgreSQL: (all, over TCP). PgBouncer's come over the unix
    socket (no client address); the app's own would come from 127.0.0.1."""
    row = _su_psql(
        server,
        f"SELECT count(*), count(client_addr) FROM pg_stat_activity WHERE usename = '{RUNTIME}'",
    )
    total, tcp = row.split("|")
    return int(total), int(tcp)


def _pgbouncer_clients(server) -> int:
    """Client connections PgBouncer holds for the application database (its admin console)."""
    rows = server.sh(
        f"cd / && runuser -u postgres -- psql -XAtq -h /var/run/postgresql -p {PORT} "
        "-U pgbouncer pgbouncer -c 'SHOW CLIENTS'"
    )
    return sum(1 for line in rows.splitlines() if f"|{DB}|" in line)


def test_the_apps_runtime_connections_are_the_pools_under_load(provisioned, server, cacert):
    limit = setting(server, "max_db_connections")
    samples: list[tuple[int, int, int]] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            total, tcp = _backends(server)
            samples.append((total, tcp, _pgbouncer_clients(server)))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    with HttpsLoad(
        server.ip,
        provisioned.server_name,
        str(cacert),
        paths=("/readyz",),
        threads=LOAD_THREADS,
        min_seconds=LOAD_SECONDS,
        max_seconds=LOAD_SECONDS + 10,
    ) as load:
        time.sleep(2)  # every Gunicorn thread busy before the first sample
        sampler.start()
    stop.set()
    sampler.join(timeout=30)
    result = load.result
    most = max(total for total, _, _ in samples)
    clients = max(c for _, _, c in samples)
    print(
        f"\nunder load ({LOAD_THREADS} HTTPS threads, {result.requests} requests in "
        f"{result.seconds:.1f} s, {result.errors} errors): at most {most} runtime connections at "
        f"the database (pool limit {limit}), {clients} client connections at PgBouncer, "
        f"{len(samples)} samples"
    )
    assert result.errors == 0, result.error_samples
    assert samples
    assert all(tcp == 0 for _, tcp, _ in samples), f"direct connections to PostgreSQL: {samples}"
    assert 0 < most <= limit, samples
    # The app's threads hold more clients than the pool has server connections.
    assert clients > 0, samples


def test_a_plain_connection_is_refused_and_tls_with_scram_is_let_in(provisioned, server):
    password = provisioned.secrets["vault_postgresql_runtime_password"]
    plain = _runtime_psql(server, password, "sslmode=disable")
    assert plain.returncode != 0
    print(f"\nplain connection: {plain.stderr.strip()}")
    assert "SSL required" in plain.stderr, plain.stderr
    tls = _runtime_psql(server, password, "sslmode=require")
    assert tls.returncode == 0 and tls.stdout.strip() == "1", tls.stderr
    wrong = _runtime_psql(server, password + "x", "sslmode=require")
    # PgBouncer's SCRAM check refuses it (PostgreSQL would say "password authentication failed").
    assert wrong.returncode != 0 and "SASL authentication failed" in wrong.stderr, wrong.stderr


def test_pgbouncer_checks_scram_secrets_from_a_root_and_postgres_only_file(provisioned, server):
    assert re.search(r"^auth_type\s*=\s*scram-sha-256$", server.sh(f"cat {CONF}"), re.M)
    stat = server.sh(f"stat -c '%U:%G %a' {AUTH_FILE} {CONF}").splitlines()
    assert stat == ["root:postgres 640", "root:postgres 640"], stat
    auth = server.sh(f"cat {AUTH_FILE}")
    assert re.search(rf'^"{RUNTIME}" "SCRAM-SHA-256\$4096:', auth, re.M), "no SCRAM secret"
    assert provisioned.secrets["vault_postgresql_runtime_password"] not in auth


def test_prometheus_scrapes_pgbouncers_pools(server):
    """The pool metrics (the pgbouncer role's textfile writer, through the node exporter)."""
    expr = f'pgbouncer_pools_client_active_connections{{database="{DB}"}}'
    found = wait_until(
        lambda: query(server, expr), timeout=120, what=f"{expr} scraped by Prometheus"
    )
    up = query(server, "pgbouncer_up")
    waiting = query(server, f'pgbouncer_pools_client_waiting_connections{{database="{DB}"}}')
    print(
        f"\nscraped: pgbouncer_up {[s['value'][1] for s in up]}, {DB}'s active clients "
        f"{[(s['metric']['user'], s['value'][1]) for s in found]}, waiting "
        f"{[s['value'][1] for s in waiting]}"
    )
    assert [s["value"][1] for s in up] == ["1"], up
    assert any(s["metric"].get("user") == RUNTIME for s in found), found
    assert waiting, "no waiting-clients series for the alert to read"


def test_the_staleness_alert_watches_pgbouncers_metrics_file(server):
    """TextfileMetricsStale's selector matches the file the writer refreshes (the node exporter's
    `file` label), so a stopped timer is announced; the file is fresh while the timer runs."""
    rule = loaded_rule_query(server, "TextfileMetricsStale")
    age_expr = re.sub(r"\s*>\s*[0-9.]+$", "", rule)
    ages = {
        s["metric"]["file"].rsplit("/", 1)[-1]: float(s["value"][1])
        for s in wait_until(
            lambda: query(server, age_expr), timeout=120, what=f"{age_expr} scraped"
        )
    }
    print(f"\ntextfile ages the staleness alert watches: {ages}")
    assert METRICS_FILE in ages, (age_expr, ages)
    assert ages[METRICS_FILE] < float(rule.rsplit(">", 1)[1]), ages


def test_a_stopped_pgbouncer_is_measured_down(server, client):
    """What PgBouncerDown reads: the writer says 0 while the console does not answer."""
    try:
        server.sh(
            "systemctl stop pgbouncer.service && systemctl start board-pgbouncer-metrics.service"
        )
        down = parse_metrics(server.sh(f"cat {TEXTFILE_DIR}/{METRICS_FILE}"), METRICS_FILE)
    finally:
        # One after the other: in one systemctl call the writer would not wait for PgBouncer.
        server.sh("systemctl start pgbouncer.service")
        server.sh("systemctl start board-pgbouncer-metrics.service")
    back = parse_metrics(server.sh(f"cat {TEXTFILE_DIR}/{METRICS_FILE}"), METRICS_FILE)
    wait_until(lambda: client.request("/readyz").status == 200, timeout=60, what="/readyz 200")
    assert down == {"pgbouncer_up": ({}, 0.0)}, down
    assert back["pgbouncer_up"] == ({}, 1.0), back
    assert back["pgbouncer_pools_client_waiting_connections"][1] == 0, back


def test_a_killed_pgbouncer_restarts_and_the_api_answers_again(server, client):
    check = f"pg_isready -q -h 127.0.0.1 -p {PORT}"
    seconds = kill_and_wait_restart(server, "pgbouncer", check)
    started = time.monotonic()
    wait_until(lambda: client.request("/readyz").status == 200, timeout=60, what="/readyz 200")
    answered = time.monotonic() - started
    print(
        f"\nkill -9 of pgbouncer: serving again after {seconds:.2f} s, the API ready "
        f"{answered:.2f} s later"
    )
