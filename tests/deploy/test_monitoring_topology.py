"""What Prometheus scrapes and where each exporter listens come from the inventory's groups.

Renders the monitoring role's prometheus.yml and the exporters' settings with the real
group_vars wiring of deploy/ (every host `ansible_connection: local`, nothing is installed), for
the single-server layout, three servers, and three servers with their own monitoring server;
each host loads the exporters role's variables of its release as the role does (Debian 12 unless
the inventory names another).
"""

from __future__ import annotations

import json
from pathlib import Path

import bcrypt
import yaml

from .playbook import run_playbook

PLAYBOOK = """
- name: Derive each server's monitoring settings from the inventory
  hosts: board_servers
  gather_facts: false
  # As in site.yml, the roles' defaults and vars; no role task runs (the run selects the tag
  # below and skips the roles' `always` tasks).
  roles:
    - postgresql
    - exporters
    - monitoring
  tasks:
    - name: Load the exporters role's variables of the host's release
      tags: [monitoring-test]
      ansible.builtin.include_vars:
        file: roles/exporters/vars/{{ render_release | default('Debian') }}.yml
    - name: Render prometheus.yml on the monitoring server
      tags: [monitoring-test]
      ansible.builtin.template:
        src: roles/monitoring/templates/prometheus.yml.j2
        dest: "{{ out_dir }}/{{ inventory_hostname }}.prometheus.yml"
        mode: "0600"
      when: inventory_hostname == board_monitoring_server
    - name: Render the exporters' web config and settings
      tags: [monitoring-test]
      ansible.builtin.template:
        src: roles/exporters/templates/{{ item }}.j2
        dest: "{{ out_dir }}/{{ inventory_hostname }}.{{ item }}"
        mode: "0600"
      loop: >-
        {{ ['exporters-web.yml', 'prometheus-node-exporter']
           + (['prometheus-postgres-exporter'] if exporters_postgres_enabled | bool else [])
           + (['prometheus-redis-exporter'] if exporters_redis_enabled | bool else [])
           + (['prometheus-nginx-exporter'] if exporters_nginx_enabled | bool else []) }}
    - name: Render the blackbox exporter's settings on the monitoring server
      tags: [monitoring-test]
      ansible.builtin.template:
        src: roles/monitoring/templates/prometheus-blackbox-exporter.default.j2
        dest: "{{ out_dir }}/{{ inventory_hostname }}.prometheus-blackbox-exporter"
        mode: "0600"
      when: inventory_hostname == board_monitoring_server
    - name: Write the exporters' settings down
      tags: [monitoring-test]
      ansible.builtin.copy:
        content: "{{ {
          'listen': exporters_listen_address,
          'allowed': exporters_allowed_sources,
          'postgres': exporters_postgres_enabled | bool,
          'redis': exporters_redis_enabled | bool,
          'nginx': exporters_nginx_enabled | bool,
          'app_metrics': app_metrics_listen_address,
          'ssh_permit_open': base_ssh_permit_open,
          'etcd_metrics': etcd_metrics_listen_address,
          'etcd_metrics_allowed': etcd_metrics_allowed_sources,
          'patroni_scrapers': patroni_restapi_scrapers,
          'tls_ca': monitoring_tls_ca,
          } | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
"""

ONE = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers: {hosts: {solo: {ansible_host: 10.0.0.5}}}
    app_servers: {hosts: {solo: }}
"""
THREE = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers: {hosts: {db1: {ansible_host: 10.0.0.5}}}
    app_servers:
      hosts:
        app1: {ansible_host: 203.0.113.11, board_private_address: 10.0.0.11}
        app2: {ansible_host: 10.0.0.12}
"""
# A Patroni cluster: two database servers, app1 the etcd witness.
PATRONI = """
board_servers:
  vars: {ansible_connection: local}
  children:
    db_servers:
      hosts:
        db1: {ansible_host: 10.0.0.5}
        db2: {ansible_host: 10.0.0.6}
    app_servers: {hosts: {app1: {ansible_host: 10.0.0.11}}}
"""
SCRAPE_PASSWORD = "scrape-password-0123456789"
# The same layouts on Debian 13.
ONE_TRIXIE = ONE.replace(
    "ansible_connection: local}", "ansible_connection: local, render_release: Debian-13}"
)
THREE_TRIXIE = THREE.replace(
    "ansible_connection: local}", "ansible_connection: local, render_release: Debian-13}"
)
WEB_CONFIG_FLAG = "--web.config.file=/etc/prometheus/exporters-web.yml"
REDIS_LOGIN = "REDIS_EXPORTER_BASIC_AUTH_PASSWORD"
# The same three servers, watched from app2.
WATCHED_FROM_APP2 = (
    THREE
    + """    monitoring_servers: {hosts: {app2: }}
"""
)


def _render(tmp_path: Path, hosts_yml: str) -> tuple[dict, dict[str, dict]]:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(hosts_yml)
    proc = run_playbook(
        PLAYBOOK,
        f"monitoring-test-{tmp_path.name}",
        str(inventory),
        {
            "out_dir": str(tmp_path),
            "vault_exporters_scrape_password": SCRAPE_PASSWORD,
            "vault_redis_exporter_password": "redis-exporter-password-0123456789",
        },
        *("--tags", "monitoring-test", "--skip-tags", "always"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (config,) = [yaml.safe_load(p.read_text()) for p in tmp_path.glob("*.prometheus.yml")]
    return config, {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}


def _targets(config: dict) -> dict[str, list[tuple[str, str]]]:
    return {
        job["job_name"]: [
            (static["labels"].get("host"), target)
            for static in job["static_configs"]
            for target in static["targets"]
        ]
        for job in config["scrape_configs"]
    }


def test_one_server_scrapes_everything_on_loopback(tmp_path):
    config, servers = _render(tmp_path, ONE)
    targets = _targets(config)
    assert targets["node"] == [("solo", "127.0.0.1:9100")]
    assert targets["postgres"] == [("solo", "127.0.0.1:9187")]
    assert targets["redis"] == [("solo", "127.0.0.1:9121")]
    assert targets["nginx"] == [("solo", "127.0.0.1:9113")]
    assert targets["board"] == [("solo", "127.0.0.1:9808")]
    assert [t for _, t in targets["probe"]] == [
        "https://127.0.0.1/healthz",
        "https://127.0.0.1/readyz",
    ]
    assert servers["solo"] == {
        "listen": "127.0.0.1",
        "allowed": [],
        "postgres": True,
        "redis": True,
        "nginx": True,
        "app_metrics": "127.0.0.1",
        "ssh_permit_open": ["127.0.0.1:9090", "127.0.0.1:9093"],
        "etcd_metrics": "127.0.0.1",
        "etcd_metrics_allowed": [],
        "patroni_scrapers": [],
        "tls_ca": {},
    }


def test_three_servers_scrape_private_addresses_open_to_the_database_server_only(tmp_path):
    config, servers = _render(tmp_path, THREE)
    targets = _targets(config)
    assert targets["node"] == [
        ("db1", "127.0.0.1:9100"),
        ("app1", "10.0.0.11:9100"),
        ("app2", "10.0.0.12:9100"),
    ]
    assert targets["postgres"] == [("db1", "127.0.0.1:9187")]
    # Redis serves only its own host's app: with remote app servers there is none to watch.
    assert "redis" not in targets
    assert targets["board"] == [("app1", "10.0.0.11:9808"), ("app2", "10.0.0.12:9808")]
    assert servers["db1"]["listen"] == "127.0.0.1" and servers["db1"]["allowed"] == []
    assert servers["app1"] == {
        "listen": "10.0.0.11",
        "allowed": ["10.0.0.5"],
        "postgres": False,
        "redis": False,
        "nginx": True,
        "app_metrics": "10.0.0.11",
        "ssh_permit_open": [],
        "etcd_metrics": "10.0.0.11",
        "etcd_metrics_allowed": ["10.0.0.5"],
        "patroni_scrapers": ["10.0.0.5"],
        "tls_ca": {},
    }


def test_a_monitoring_server_of_its_own_scrapes_the_others_over_the_network(tmp_path):
    config, servers = _render(tmp_path, WATCHED_FROM_APP2)
    targets = _targets(config)
    assert targets["postgres"] == [("db1", "10.0.0.5:9187")]
    assert ("app2", "127.0.0.1:9100") in targets["node"]
    assert servers["db1"]["listen"] == "10.0.0.5" and servers["db1"]["allowed"] == ["10.0.0.12"]
    assert servers["app2"]["allowed"] == []
    # sshd forwards to the monitoring UIs where they run, and nowhere else.
    assert servers["app2"]["ssh_permit_open"] == ["127.0.0.1:9090", "127.0.0.1:9093"]
    assert servers["db1"]["ssh_permit_open"] == []


def test_the_exporters_that_take_a_web_config_require_the_scrape_login(tmp_path):
    config, _ = _render(tmp_path, THREE)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    login = {"username": "prometheus", "password_file": "/etc/prometheus/scrape-password"}
    # nginx too: the login is sent where the exporter may ignore it (Debian 12), so both mix.
    with_login = {"node", "postgres", "nginx", "blackbox", "probe", "board"}
    assert {name for name, job in jobs.items() if "basic_auth" in job} == with_login
    assert all(jobs[name]["basic_auth"] == login for name in with_login)
    assert SCRAPE_PASSWORD not in (tmp_path / "db1.prometheus.yml").read_text()
    flag = WEB_CONFIG_FLAG
    settings = ["prometheus-node-exporter", "prometheus-postgres-exporter"]
    for unit in settings + ["prometheus-blackbox-exporter"]:
        assert flag in (tmp_path / f"db1.{unit}").read_text(), unit
    hashes = {}
    for host in ("db1", "app1", "app2"):
        assert flag in (tmp_path / f"{host}.prometheus-node-exporter").read_text()
        web = (tmp_path / f"{host}.exporters-web.yml").read_text()
        assert SCRAPE_PASSWORD not in web
        hashes[host] = yaml.safe_load(web)["basic_auth_users"]["prometheus"]
        assert bcrypt.checkpw(SCRAPE_PASSWORD.encode(), hashes[host].encode()), host
        assert not bcrypt.checkpw(b"another-password-0123456789", hashes[host].encode())
    # Salted per host, and the same hash on a second run (the role stays idempotent).
    assert len(set(hashes.values())) == 3
    again = tmp_path / "again"
    again.mkdir()
    _render(again, THREE)
    web = yaml.safe_load((again / "db1.exporters-web.yml").read_text())
    assert web["basic_auth_users"]["prometheus"] == hashes["db1"]


def test_debian_12s_nginx_and_redis_exporters_take_no_login(tmp_path):
    config, _ = _render(tmp_path, ONE)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # Prometheus still sends it: their exporters ignore it here and check it on Debian 13.
    assert "basic_auth" in jobs["nginx"] and "basic_auth" in jobs["redis"]
    assert WEB_CONFIG_FLAG not in (tmp_path / "solo.prometheus-nginx-exporter").read_text()
    assert REDIS_LOGIN not in (tmp_path / "solo.prometheus-redis-exporter").read_text()


def test_debian_13s_nginx_and_redis_exporters_require_the_login(tmp_path):
    config, _ = _render(tmp_path, ONE_TRIXIE)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    login = {"username": "prometheus", "password_file": "/etc/prometheus/scrape-password"}
    assert jobs["nginx"]["basic_auth"] == login and jobs["redis"]["basic_auth"] == login
    nginx = (tmp_path / "solo.prometheus-nginx-exporter").read_text()
    assert "--web.listen-address=127.0.0.1:9113 --nginx.scrape-uri=" in nginx
    assert WEB_CONFIG_FLAG in nginx
    # The Redis exporter takes no hash: the password sits in its root-only environment file
    # (the role writes it 0600), which systemd reads, never on its command line (ARGS).
    redis = dict(
        line.split("=", 1)
        for line in (tmp_path / "solo.prometheus-redis-exporter").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert redis["REDIS_EXPORTER_BASIC_AUTH_USERNAME"] == '"prometheus"'
    assert redis[REDIS_LOGIN] == f'"{SCRAPE_PASSWORD}"'
    assert SCRAPE_PASSWORD not in redis["ARGS"]
    # Three Debian 13 servers: every app server's nginx exporter requires it.
    three = tmp_path / "three"
    three.mkdir()
    _render(three, THREE_TRIXIE)
    for host in ("app1", "app2"):
        assert WEB_CONFIG_FLAG in (three / f"{host}.prometheus-nginx-exporter").read_text()


def test_a_patroni_cluster_is_scraped_patroni_over_tls_and_etcd_on_each_member(tmp_path):
    config, servers = _render(tmp_path, PATRONI)
    targets = _targets(config)
    # Patroni's REST API listens on the private address only, with the cluster CA's certificate.
    assert targets["patroni"] == [("db1", "10.0.0.5:8008"), ("db2", "10.0.0.6:8008")]
    assert targets["etcd"] == [
        ("db1", "127.0.0.1:2381"),
        ("db2", "10.0.0.6:2381"),
        ("app1", "10.0.0.11:2381"),
    ]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["patroni"]["scheme"] == "https"
    assert jobs["patroni"]["tls_config"] == {"ca_file": "/etc/prometheus/targets-ca.crt"}
    assert "scheme" not in jobs["etcd"] and "basic_auth" not in jobs["patroni"]
    # Each etcd metrics listener and REST API admits the monitoring server (db1) alone.
    assert servers["db1"]["etcd_metrics"] == "127.0.0.1"
    assert servers["db2"]["etcd_metrics"] == "10.0.0.6"
    assert servers["db2"]["etcd_metrics_allowed"] == ["10.0.0.5"]
    assert servers["app1"]["etcd_metrics_allowed"] == ["10.0.0.5"]
    assert servers["db2"]["patroni_scrapers"] == ["10.0.0.5"]
    assert servers["db1"]["tls_ca"] == {"host": "db1", "path": "/etc/etcd/tls/ca.crt"}


def test_one_database_server_has_no_patroni_or_etcd_target(tmp_path):
    config, _ = _render(tmp_path, THREE)
    assert not {"patroni", "etcd"} & set(_targets(config))
