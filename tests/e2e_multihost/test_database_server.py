"""PostgreSQL on its own server: reached by the app servers only, over TLS they verify, with SCRAM.

Connections are made the way the app makes them: from an app server, with the release's own
psycopg2 (libpq) and the settings site.yml wrote there. The password travels on stdin.
"""

from __future__ import annotations

import re
import socket

import pytest
from support.certificate_renewal import renew_a_short_certificate
from support.textfile_metrics import TEXTFILE_DIR, job_result_file

from .cluster import (
    APP_ROOT,
    APP_SERVERS,
    BACKUP_SERVER,
    CA_PATH,
    DB,
    OWNER,
    RUNTIME,
    connect,
    su_sql,
)


def test_database_listens_on_loopback_and_its_private_address_only(cluster):
    db = cluster.server("db")
    listeners = cluster.sh("db", "ss -Hltn 'sport = :5432'")
    addresses = sorted(line.split()[3] for line in listeners.splitlines())
    assert f"{db.ip}:5432" in addresses, addresses
    assert set(addresses) <= {f"{db.ip}:5432", "127.0.0.1:5432", "[::1]:5432"}, addresses


def test_pg_hba_has_one_tls_scram_line_per_app_server_and_no_other_network_rule(cluster):
    rows = su_sql(
        cluster,
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), "
        "address, netmask, auth_method FROM pg_hba_file_rules WHERE type <> 'local' "
        "AND address NOT IN ('127.0.0.1', '::1') ORDER BY address",
    )
    expected = sorted(
        f"hostssl|{DB}|{OWNER},{RUNTIME}|{cluster.server(r).ip}|255.255.255.255|scram-sha-256"
        for r in APP_SERVERS
    )
    assert sorted(rows.splitlines()) == expected


def test_firewall_opens_the_database_port_to_the_app_servers_only(cluster):
    rules = cluster.sh("db", "ufw status")
    opened = re.findall(r"^5432/tcp\s+ALLOW\s+(\S+)", rules, re.M)
    assert sorted(opened) == sorted(cluster.server(r).ip for r in APP_SERVERS), rules
    # A database-only server opens no web port.
    assert not re.search(r"^(80|443)(/tcp)?\s", rules, re.M), rules


def test_a_host_that_is_not_an_app_server_cannot_reach_the_database(cluster):
    # The controller shares the private network with the servers but is not an app server.
    db = cluster.server("db")
    with pytest.raises(OSError):
        socket.create_connection((db.ip, 5432), timeout=3).close()
    # The same port from an app server is open (the refusal above is the firewall's).
    assert "rows" in connect(cluster, "app1", "SELECT 1")


def test_runtime_role_connects_over_verified_tls_with_scram(cluster):
    for role in APP_SERVERS:
        got = connect(
            cluster,
            role,
            "SELECT s.ssl, s.version, a.client_addr FROM pg_stat_ssl s "
            "JOIN pg_stat_activity a USING (pid) WHERE s.pid = pg_backend_pid()",
        )
        assert got.get("rows"), got
        ssl, version, client = got["rows"][0]
        assert ssl == "True" and version in ("TLSv1.2", "TLSv1.3"), got
        assert client == cluster.server(role).ip
    hashes = su_sql(
        cluster,
        f"SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname IN ('{RUNTIME}', '{OWNER}')",
    )
    assert hashes.splitlines() == ["SCRAM-SHA-256$"] * 2


def test_database_refuses_clear_text_and_the_app_refuses_an_unverified_server(cluster):
    clear = connect(cluster, "app1", "SELECT 1", sslmode="disable")
    assert "no pg_hba.conf entry" in clear.get("error", "") and "no encryption" in clear["error"]
    # The app's libpq checks the name too: the address is right, the name it expects is not.
    wrong_name = connect(
        cluster, "app1", "SELECT 1", host="db.elsewhere.test", hostaddr=cluster.server("db").ip
    )
    assert "does not match host name" in wrong_name.get("error", ""), wrong_name
    # And the chain: nginx's self-signed certificate is no CA of this database.
    wrong_ca = connect(cluster, "app1", "SELECT 1", sslrootcert="/etc/ssl/certs/board.test.crt")
    assert "certificate verify failed" in wrong_ca.get("error", ""), wrong_ca
    wrong_password = connect(cluster, "app1", "SELECT 1", password="not-the-password")
    assert "password authentication failed" in wrong_password.get("error", ""), wrong_password


def test_runtime_role_over_the_network_has_dml_only(cluster):
    denied = connect(cluster, "app2", "CREATE TABLE mh_forbidden (id int)")
    assert "permission denied for schema public" in denied.get("error", ""), denied
    assert "rows" in connect(cluster, "app2", "SELECT count(*) FROM post")


def test_app_servers_keep_their_connections_on_tls(cluster, clients):
    for client in clients.values():
        assert client.request("/api/v1/posts/").status == 200
    rows = su_sql(
        cluster,
        f"SELECT host(a.client_addr), s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
        f"WHERE a.usename = '{RUNTIME}' AND a.client_addr IS NOT NULL",
    ).splitlines()
    assert {r.split("|")[0] for r in rows} == {cluster.server(r).ip for r in APP_SERVERS}, rows
    assert all(r.endswith("|t") for r in rows), rows
    # The app's own settings say so too (root-only file on each app server).
    for role in APP_SERVERS:
        env = cluster.sh(role, f"grep '^DATABASE_URL=' {APP_ROOT}/shared/.env")
        assert "sslmode=verify-full" in env and f"@{cluster.server('db').ip}:5432/" in env
        ca = cluster.sh(role, f"cat {CA_PATH}")
        assert ca == cluster.sh("db", "cat /etc/postgresql/board-tls/ca.crt")


def test_runtime_limit_serves_both_app_servers(cluster):
    limit = int(su_sql(cluster, f"SELECT rolconnlimit FROM pg_roles WHERE rolname = '{RUNTIME}'"))
    need = 0
    for role in APP_SERVERS:
        conf = cluster.sh(role, f"cat {APP_ROOT}/shared/gunicorn.conf.py")
        size = dict(re.findall(r"^(workers|threads) = (\d+)$", conf, re.M))
        need += 2 * int(size["workers"]) * int(size["threads"]) + 10
    assert limit == need


def test_database_jobs_stay_on_the_database_server(cluster):
    assert cluster.sh("db", "systemctl is-enabled board-backup-full.timer") == "enabled"
    for role in APP_SERVERS:
        # The backup server (app2 in the lab) backs up into repo2: test_backup_server.py.
        if role != BACKUP_SERVER:
            assert cluster.sh(
                role, "systemctl is-enabled board-backup-full.timer", check=False
            ) != ("enabled")
            assert cluster.sh(role, "command -v pgbackrest || true") == ""
        # No PostgreSQL server (pgBackRest's dependency postgresql-common is no server).
        assert cluster.sh(role, "ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null || true") == ""
        assert cluster.sh(role, "systemctl list-units --plain --no-legend 'postgresql@*'") == ""
    # No Redis anywhere: the throttle counters are in the shared database (board_cache).
    for role in ("db", *APP_SERVERS):
        assert cluster.sh(role, "command -v redis-server || true") == ""
    assert su_sql(cluster, "SELECT to_regclass('board_cache') IS NOT NULL") == "t"


def test_the_server_certificate_left_its_renewal_for_the_node_exporter(cluster):
    # The first provisioning signed the database server's certificate.
    name = job_result_file("certificate_renewal", 'certificate="postgresql"')
    prom = cluster.sh("db", f"cat {TEXTFILE_DIR}/{name}")
    assert 'board_certificate_renewal_last_outcome{certificate="postgresql"} 1' in prom.splitlines()


def test_the_server_certificate_near_its_end_is_renewed_on_the_server_and_served(cluster):
    # The one-day certificate, the timer's unit, the reload: tests/support/certificate_renewal.py.
    def on_db(command: str, **kwargs) -> str:
        return cluster.sh("db", command, **kwargs)

    print(
        "\n"
        + renew_a_short_certificate(
            on_db, "postgresql", "-starttls postgres -connect 127.0.0.1:5432"
        )
    )
