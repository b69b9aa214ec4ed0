"""The database's network access and the app's connection come from the inventory's groups.

Runs ansible-playbook on the controller (every host `ansible_connection: local`, nothing is
installed) with the real group_vars wiring, role defaults and vars of deploy/: it renders
pg_hba.conf from the postgresql role's template and writes each server's derived settings down.
Three servers (a database server and two app servers) against the single-server layout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.roles import role_default

from .playbook import DEPLOY, SECRETS, run_playbook

CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"

PLAYBOOK = """
- name: Derive each server's settings from the inventory
  hosts: board_servers
  gather_facts: false
  # As in site.yml, the roles' defaults and vars with their own precedence; no role task runs
  # (the run selects the tag below and skips the roles' `always` tasks).
  roles:
    - postgresql
    - pgbouncer
    - app
    - release
  tasks:
    # What site.yml's pre_tasks publish, and the CA the postgresql role publishes.
    - name: Publish each app server's connection need
      tags: [topology]
      ansible.builtin.set_fact:
        board_app_db_connections_needed: "{{ app_db_runtime_connections_needed | int }}"
      when: inventory_hostname in groups['app_servers']
    - name: Publish the database CA
      tags: [topology]
      ansible.builtin.set_fact:
        postgresql_tls_ca_certificate: "{{ test_ca }}"
      when: >-
        inventory_hostname in groups['db_servers'] | default([]) and postgresql_tls_managed | bool
    - name: Publish the Patroni cluster's CA
      tags: [topology]
      ansible.builtin.set_fact:
        patroni_ca_certificate: "{{ test_ca }}"
      when: >-
        inventory_hostname in groups['db_servers'] | default([])
        and board_db_ha | default(false) | bool
    - name: Render pg_hba.conf on the database server
      tags: [topology]
      ansible.builtin.template:
        src: roles/postgresql/templates/pg_hba.conf.j2
        dest: "{{ out_dir }}/{{ inventory_hostname }}.pg_hba.conf"
        mode: "0600"
      when: inventory_hostname in groups['db_servers'] | default([])
    - name: Write the derived settings down
      tags: [topology]
      ansible.builtin.copy:
        content: "{{ {
          'listen_addresses': postgresql_listen_addresses,
          'network_clients': postgresql_network_clients,
          'tls_managed': postgresql_tls_managed | bool,
          'ssl_cert_file': postgresql_ssl_cert_file,
          'runtime_conn_limit': postgresql_runtime_conn_limit | int,
          'needed_here': app_db_runtime_connections_needed | int,
          'database_url': app_database_url,
          'owner_database_url': app_owner_database_url,
          'ca_certificate': app_db_ca_certificate,
          'redis_url': app_redis_url,
          'redis_enabled': board_redis_enabled | bool,
          'supplementary_groups': app_service_supplementary_groups,
          'ip_allow': app_service_ip_allow,
          'after': app_service_after,
          'max_connections': app_db_max_connections,
          'release_db_host': release_db_host,
          'release_dump_owner': release_dump_owner,
          'external_admin_user': postgresql_external_admin_user,
          'metrics_listen_address': app_metrics_listen_address,
          'metrics_scrapers': app_metrics_scrapers,
          'metrics_ip_allow': app_metrics_ip_allow,
          } | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
"""

THREE_SERVERS = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers:
      hosts:
        db1: {ansible_host: 10.0.0.5}
    app_servers:
      hosts:
        app1: {ansible_host: 203.0.113.11, board_private_address: 10.0.0.11}
        app2: {ansible_host: 10.0.0.12}
"""

# Two database servers: a Patroni cluster (board_db_ha), the backup server its etcd witness.
TWO_DB_SERVERS = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers:
      hosts:
        db1: {ansible_host: 10.0.0.5}
        db2: {ansible_host: 10.0.0.6}
    app_servers:
      hosts:
        app1: {ansible_host: 10.0.0.11}
        app2: {ansible_host: 10.0.0.12}
"""

ONE_SERVER = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers:
      hosts:
        solo: {ansible_host: 10.0.0.5}
    app_servers:
      hosts:
        solo:
"""

# An external managed PostgreSQL: no db_servers, the provider's address, port, CA and networks.
EXTERNAL = """
board_servers:
  vars:
    ansible_connection: local
    board_db_external_host: db.provider.example
    board_db_external_port: 25060
    board_db_external_networks: [10.20.0.0/24]
    board_db_external_ca_certificate: "{{ test_ca }}"
    board_db_external_admin_user: provider_admin
  children:
    app_servers:
      hosts:
        app1: {ansible_host: 10.0.0.11}
        app2: {ansible_host: 10.0.0.12}
"""


# PgBouncer in front of the database server (the inventory turns it on), and a libpq option
# that every connection of the app must carry (extra vars: group_vars/all sets the option).
PGBOUNCER_VARS = "    board_pgbouncer_enabled: true\n"
EXTRA_OPTIONS = {"app_db_extra_options": {"connect_timeout": 4}}
PGBOUNCER_PORT = role_default("pgbouncer", "pgbouncer_port")


def _with_pgbouncer(hosts_yml: str) -> str:
    flow = "  vars: {ansible_connection: local}\n"
    assert flow in hosts_yml
    return hosts_yml.replace(flow, "  vars:\n    ansible_connection: local\n" + PGBOUNCER_VARS, 1)


def _derive(tmp_path: Path, hosts_yml: str, extra_vars: dict | None = None) -> dict[str, dict]:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(hosts_yml)
    extra = {**SECRETS, "out_dir": str(tmp_path), "test_ca": CA, **(extra_vars or {})}
    proc = run_playbook(
        PLAYBOOK,
        f"topology-test-{tmp_path.name}",
        str(inventory),
        extra,
        *("--tags", "topology", "--skip-tags", "always"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}


def _hba_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]


@pytest.fixture(scope="module")
def three(tmp_path_factory) -> tuple[dict[str, dict], Path]:
    out = tmp_path_factory.mktemp("three")
    return _derive(out, THREE_SERVERS), out


@pytest.fixture(scope="module")
def one(tmp_path_factory) -> tuple[dict[str, dict], Path]:
    out = tmp_path_factory.mktemp("one")
    return _derive(out, ONE_SERVER), out


@pytest.fixture(scope="module")
def two_db(tmp_path_factory) -> dict[str, dict]:
    return _derive(tmp_path_factory.mktemp("two-db"), TWO_DB_SERVERS)


@pytest.fixture(scope="module")
def pgbouncer(tmp_path_factory) -> dict[str, dict]:
    three = _derive(
        tmp_path_factory.mktemp("pgbouncer-three"), _with_pgbouncer(THREE_SERVERS), EXTRA_OPTIONS
    )
    one = _derive(
        tmp_path_factory.mktemp("pgbouncer-one"), _with_pgbouncer(ONE_SERVER), EXTRA_OPTIONS
    )
    return {**three, **one}


@pytest.fixture(scope="module")
def external(tmp_path_factory) -> dict[str, dict]:
    return _derive(tmp_path_factory.mktemp("external"), EXTERNAL)


def test_pg_hba_gets_one_tls_scram_line_per_app_server_and_nothing_else(three, one):
    _, out = three
    lines = _hba_lines(out / "db1.pg_hba.conf")
    network = [line for line in lines if line[0].startswith("host") and "127.0.0.1/32" not in line]
    network = [line for line in network if "::1/128" not in line]
    # Private addresses (board_private_address over ansible_host), no hand-written CIDR.
    assert network == [
        ["hostssl", "board", "board_owner,board_app", "10.0.0.11/32", "scram-sha-256"],
        ["hostssl", "board", "board_owner,board_app", "10.0.0.12/32", "scram-sha-256"],
    ]
    # The single-server file is the other lines exactly: nothing new there.
    local = [line for line in lines if line not in network]
    assert _hba_lines(one[1] / "solo.pg_hba.conf") == local


def test_database_listens_on_its_private_address_only_when_app_servers_are_elsewhere(three, one):
    db = three[0]["db1"]
    assert db["listen_addresses"] == "localhost, 10.0.0.5"
    assert db["network_clients"] == ["10.0.0.11", "10.0.0.12"]
    assert db["tls_managed"] is True
    assert db["ssl_cert_file"] == "/etc/postgresql/board-tls/server.crt"
    solo = one[0]["solo"]
    assert solo["listen_addresses"] == "localhost"
    assert solo["network_clients"] == []
    assert solo["tls_managed"] is False
    assert solo["ssl_cert_file"] == "/etc/ssl/certs/ssl-cert-snakeoil.pem"


def test_app_servers_verify_the_database_they_reach_over_the_network(three):
    for host in ("app1", "app2"):
        app = three[0][host]
        for url in (app["database_url"], app["owner_database_url"]):
            assert "@10.0.0.5:5432/board?sslmode=verify-full&sslrootcert=" in url
            assert url.endswith("/srv/board/shared/database-ca.crt")
        assert app["ca_certificate"] == CA
        # Only loopback and the database server, through the service's IP filter.
        assert app["ip_allow"] == ["localhost", "10.0.0.5"]
        assert "postgresql.service" not in app["after"]


def test_throttles_count_in_the_shared_database_when_app_servers_are_apart(three, one):
    for host in ("app1", "app2"):
        assert three[0][host]["redis_url"] == ""
        assert three[0][host]["redis_enabled"] is False
        assert three[0][host]["supplementary_groups"] == []
    solo = one[0]["solo"]
    assert solo["redis_url"].startswith("unix://board:")
    assert solo["supplementary_groups"] == ["board-redis"]
    assert "@127.0.0.1:5432/board" in solo["database_url"]
    assert "sslmode" not in solo["database_url"]
    assert solo["ip_allow"] == ["localhost"]


def test_runtime_connection_limit_serves_every_app_server(three, one):
    each = three[0]["app1"]["needed_here"]
    assert three[0]["app2"]["needed_here"] == each
    assert three[0]["db1"]["runtime_conn_limit"] == 2 * each
    assert one[0]["solo"]["runtime_conn_limit"] == one[0]["solo"]["needed_here"]


REFUSAL = """
- name: Check the database TLS settings
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Run the app role's check
      ansible.builtin.include_role:
        name: app
        tasks_from: db_tls.yml
"""


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ({"app_db_host": "10.0.0.5"}, True),
        ({"app_db_host": "10.0.0.5", "app_db_sslmode": "require"}, True),
        ({"app_db_host": "10.0.0.5", "app_db_sslmode": "verify-full"}, True),
        (
            dict(app_db_host="10.0.0.5", app_db_sslmode="verify-full", app_db_ca_certificate=CA),
            False,
        ),
        ({"app_db_host": "127.0.0.1"}, False),
    ],
)
def test_app_role_refuses_a_remote_database_it_cannot_verify(tmp_path, settings, refused):
    # Every setting given: deploy/'s group_vars would derive them from an inventory's groups.
    extra = {"app_name": "board", "app_db_sslmode": "", "app_db_ca_certificate": "", **settings}
    proc = run_playbook(REFUSAL, f"db-tls-test-{tmp_path.name}", extra=extra)
    if refused:
        assert proc.returncode != 0
        assert "not on this server: set app_db_sslmode to verify-full" in proc.stdout
    else:
        assert proc.returncode == 0, proc.stdout[-2000:]


def test_app_servers_reach_an_external_database_with_verify_full_against_its_ca(external, three):
    assert set(external) == {"app1", "app2"}
    for host in ("app1", "app2"):
        app = external[host]
        for url in (app["database_url"], app["owner_database_url"]):
            assert "@db.provider.example:25060/board?sslmode=verify-full&sslrootcert=" in url
        assert app["ca_certificate"] == CA
        # The sandbox allows the provider's networks (a host name is no address for systemd).
        assert app["ip_allow"] == ["localhost", "10.20.0.0/24"]
        assert "postgresql.service" not in app["after"]
        # No Redis host: the throttles count in the shared database.
        assert app["redis_url"] == "" and app["supplementary_groups"] == []
        # The provider's max_connections is not ours to check against; the runtime limit is
        # still the sum of both servers' needs.
        assert app["max_connections"] == ""
        assert app["runtime_conn_limit"] == 2 * app["needed_here"]
        assert app["external_admin_user"] == "provider_admin"
        # Dumps are taken from the first app server and belong to root there.
        assert app["release_db_host"] == "app1"
        assert app["release_dump_owner"] == "root"
    assert three[0]["app1"]["release_db_host"] == "db1"
    assert three[0]["app1"]["release_dump_owner"] == "postgres"
    assert three[0]["app1"]["external_admin_user"] == ""


PRODUCTION_GROUP_VARS = DEPLOY / "inventories" / "production" / "group_vars"


@pytest.fixture(scope="module")
def three_with_production_group_vars(tmp_path_factory) -> dict[str, dict]:
    """The three-server layout with the group_vars users copy from inventories/production."""
    out = tmp_path_factory.mktemp("production")
    shutil.copytree(
        PRODUCTION_GROUP_VARS, out / "group_vars", ignore=shutil.ignore_patterns("vault*")
    )
    return _derive(out, THREE_SERVERS)


def test_shipped_production_settings_keep_the_database_reachable_from_app_servers(
    three_with_production_group_vars, three
):
    db = three_with_production_group_vars["db1"]
    assert db["listen_addresses"] == three[0]["db1"]["listen_addresses"] == "localhost, 10.0.0.5"
    assert db["network_clients"] == ["10.0.0.11", "10.0.0.12"]


def test_app_metrics_are_on_loopback_alone_or_open_to_the_monitoring_server_only(three, one):
    (solo,) = one[0].values()
    assert solo["metrics_listen_address"] == "127.0.0.1"
    assert solo["metrics_scrapers"] == []
    assert solo["metrics_ip_allow"] == ["localhost"]
    servers, _ = three
    # No monitoring_servers group: Prometheus runs on the database server.
    assert servers["app1"]["metrics_listen_address"] == "10.0.0.11"  # private, not ansible_host
    assert servers["app1"]["metrics_scrapers"] == ["10.0.0.5"]
    assert servers["app2"]["metrics_listen_address"] == "10.0.0.12"
    assert servers["app2"]["metrics_ip_allow"] == ["localhost", "10.0.0.5"]
    assert servers["db1"]["metrics_listen_address"] == "127.0.0.1"


def test_a_monitoring_servers_group_is_the_one_that_scrapes(tmp_path):
    hosts = THREE_SERVERS + "    monitoring_servers:\n      hosts:\n        app2:\n"
    servers = _derive(tmp_path, hosts)
    assert servers["app1"]["metrics_scrapers"] == ["10.0.0.12"]
    assert servers["app2"]["metrics_listen_address"] == "127.0.0.1"
    assert servers["app2"]["metrics_scrapers"] == []


def test_with_two_database_servers_the_app_dials_both_and_keeps_the_primary(two_db):
    for host in ("app1", "app2"):
        app = two_db[host]
        for url in (app["database_url"], app["owner_database_url"]):
            # libpq's multi-host form: one port for every host, the one taking writes kept.
            assert "@10.0.0.5,10.0.0.6:5432/board?sslmode=verify-full&sslrootcert=" in url
            query = dict(kv.split("=", 1) for kv in url.split("?", 1)[1].split("&"))
            assert query["target_session_attrs"] == "read-write"
            # A dead member is skipped quickly, a connection to a cut-off primary ends.
            assert int(query["connect_timeout"]) <= 5
            assert int(query["tcp_user_timeout"]) > 0 and query["keepalives"] == "1"
        # verify-full against the cluster's CA (every member's certificate comes from it).
        assert app["ca_certificate"] == CA
        assert app["ip_allow"] == ["localhost", "10.0.0.5", "10.0.0.6"]
    # Each member admits both app servers (either may become the primary).
    for db in ("db1", "db2"):
        assert two_db[db]["network_clients"] == ["10.0.0.11", "10.0.0.12"]


def test_with_pgbouncer_the_apps_connections_are_the_pools_and_migrations_go_straight(pgbouncer):
    for host in ("app1", "app2"):
        app = pgbouncer[host]
        # The app's own connections: PgBouncer's port, verified like PostgreSQL (same certificate).
        assert (
            f"@10.0.0.5:{PGBOUNCER_PORT}/board?sslmode=verify-full&sslrootcert="
            in app["database_url"]
        )
        # Migrations need a session (advisory locks, SET lock_timeout): PostgreSQL itself.
        assert "@10.0.0.5:5432/board?sslmode=verify-full&sslrootcert=" in app["owner_database_url"]
    solo = pgbouncer["solo"]
    # On loopback PgBouncer still requires TLS; there is no CA to check its certificate against.
    assert f"@127.0.0.1:{PGBOUNCER_PORT}/board?sslmode=require&" in solo["database_url"]
    assert "sslrootcert" not in solo["database_url"]
    assert "@127.0.0.1:5432/board?connect_timeout=4" in solo["owner_database_url"]
    # One derivation: the inventory's libpq options ride on every URL, through the pool too.
    for app in (pgbouncer["app1"], pgbouncer["app2"], solo):
        for url in (app["database_url"], app["owner_database_url"]):
            assert url.endswith("connect_timeout=4"), url
