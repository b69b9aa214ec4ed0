"""Patroni's configuration (roles/patroni/templates/config.yml.j2), rendered with the role's
defaults for two database servers and the single server's client authentication: the hardening
of the single server holds on every member, and what a failover needs is there."""

from __future__ import annotations

import yaml

from renderer import ROLES, render, role_variables

MEMBERS = [{"name": "db1", "address": "10.0.0.11"}, {"name": "db2", "address": "10.0.0.12"}]


def _config(name: str = "db1") -> dict:
    single_server = role_variables(
        "postgresql", postgresql_version="17", postgresql_network_clients=["10.0.0.21"]
    )
    variables = role_variables(
        "patroni",
        inventory_hostname=name,
        patroni_members=MEMBERS,
        patroni_etcd_hosts=["10.0.0.11:2379", "10.0.0.12:2379", "10.0.0.13:2379"],
        patroni_etcd_tls_dir="/etc/etcd/tls",
        patroni_hba_entries=single_server["postgresql_hba_entries"],
        patroni_replication_password="replication-password-0123456789",
        patroni_rewind_password="rewind-password-0123456789",
        patroni_restapi_password="restapi-password-0123456789",
    )
    text = render(ROLES / "patroni" / "templates" / "config.yml.j2", variables, "managed")
    return yaml.safe_load(text)


def _hba() -> list[list[str]]:
    return [line.split() for line in _config()["postgresql"]["pg_hba"]]


def test_client_authentication_is_peer_on_the_socket_and_tls_with_scram_on_the_network():
    loopback = {"127.0.0.1/32", "::1/128"}
    for line in _hba():
        if line[0] == "local":
            assert line[-1] in {"peer", "scram-sha-256"}, line
        else:
            assert line[0] == "hostssl" or line[3] in loopback, line
            assert line[-1] == "scram-sha-256", line


def test_replication_and_rewind_are_admitted_from_every_member_and_from_the_member_itself():
    # Patroni reads a member's own timeline over a replication connection to 127.0.0.1: without
    # that line a failed primary never rewinds and never follows the new one.
    hba = _hba()
    for address in ["127.0.0.1", *(m["address"] for m in MEMBERS)]:
        assert ["hostssl", "replication", "replicator", f"{address}/32", "scram-sha-256"] in hba
        assert ["hostssl", "postgres", "rewind_user", f"{address}/32", "scram-sha-256"] in hba


def test_the_single_servers_entries_are_kept():
    single = role_variables("postgresql", postgresql_version="17")["postgresql_hba_entries"]
    hba = _hba()
    for entry in single:
        assert [entry["type"], entry["database"], entry["user"]] in [line[:3] for line in hba]


def test_failover_keeps_acknowledged_commits_and_rejoins_the_old_primary():
    config = _config()
    dcs = config["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True
    assert dcs["postgresql"]["use_pg_rewind"] is True
    assert dcs["postgresql"]["parameters"]["wal_log_hints"] == "on"
    assert dcs["ttl"] >= dcs["loop_wait"] + 2 * dcs["retry_timeout"]


def test_every_connection_is_tls_with_the_clusters_ca():
    config = _config("db2")
    assert config["restapi"]["listen"] == "10.0.0.12:8008"
    assert config["restapi"]["certfile"] and config["restapi"]["authentication"]["password"]
    assert config["etcd3"]["protocol"] == "https" and config["etcd3"]["cert"]
    for account in ("replication", "rewind"):
        assert config["postgresql"]["authentication"][account]["sslmode"] == "verify-full"
    assert config["postgresql"]["parameters"]["ssl"] == "on"
