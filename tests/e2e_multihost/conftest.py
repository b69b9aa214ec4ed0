"""Session fixtures for the three-server end-to-end tests (the layout beyond one server).

``lab``      three booted servers of the lab's release (testbed/releases.py) on one private network:
             ``db`` (PostgreSQL, backups) and ``app1``/``app2`` (Gunicorn, nginx, releases).
``cluster``  the lab after ``ansible-playbook -i <inventory> site.yml`` ran once from deploy/,
             with the inventory grouped by job as an operator would write it for three servers.
``revisions`` a clone of this repository with three more commits to ship (support.releases);
             each module that ships them has its own.
``ha_cluster`` the same lab after db2 joined db_servers and site.yml ran again: the single
             database server converted into a Patroni cluster's first member, db2 its replica
             (tests marked ``high_availability``, run last but acme: there is no way back).

The playbook runs, the vault, the log files and the test order are support's, as in tests/e2e,
so both suites provision exactly the same way. Knobs: E2E_KEEP=1 leaves the lab up (then
``python -m tests.e2e.testbed lab-ssh|lab-down``), TESTBED_LAB_NAME, TESTBED_LAB_SUBNET_PREFIX.
"""

from __future__ import annotations

import os
import time

import pytest
from e2e.testbed.lab import Lab
from support.client import Client
from support.inventory import SERVER_NAME
from support.ordering import pytest_collection_modifyitems, pytest_configure  # noqa: F401
from support.playbooks import PlaybookRun, booted, provision
from support.releases import make_revisions

from .cluster import (
    APP_SERVERS,
    HA_DB_SERVERS,
    INVENTORY_HOSTS,
    Cluster,
    write_on_one_read_on_the_other,
)
from .lab_inventory import write_lab_hosts, write_lab_inventory


@pytest.fixture(scope="session")
def lab():
    with booted(Lab(), "lab") as bed:
        yield bed


@pytest.fixture(scope="session")
def cluster(lab) -> Cluster:
    # Provisioned runs its commands on the database server; Cluster reaches the others.
    prov = provision(lab, lab.servers["db"], lambda inv: write_lab_inventory(lab, inv))
    return Cluster(lab, prov)


@pytest.fixture(scope="session")
def admin_url(cluster) -> str:
    """The Django admin's path on the app servers (the API suite of tests/e2e reads it)."""
    return cluster.prov.admin_url(INVENTORY_HOSTS[APP_SERVERS[0]])


@pytest.fixture(scope="session")
def clients(cluster, tmp_path_factory) -> dict[str, Client]:
    """curl against each app server's site, verified against that server's certificate."""
    out = {}
    for role in APP_SERVERS:
        cert = tmp_path_factory.mktemp(f"tls-{role}") / "server.crt"
        cert.write_text(cluster.sh(role, f"cat /etc/ssl/certs/{SERVER_NAME}.crt") + "\n")
        out[role] = Client(cluster.server(role).ip, SERVER_NAME, cert)
    return out


@pytest.fixture(scope="module")
def revisions(tmp_path_factory) -> dict:
    """The same commits as tests/e2e ships (support.releases), in a clone of their own."""
    return make_revisions(tmp_path_factory.mktemp("releases") / "repo")


@pytest.fixture(scope="session")
def posts_before_ha(cluster, clients) -> dict:
    """A post written through the API while one database server serves: the conversion keeps it."""
    title = f"before the cluster {time.time_ns()}"
    post_id, _ = write_on_one_read_on_the_other(clients["app1"], clients["app2"], title)
    return {"id": post_id, "title": title}


@pytest.fixture(scope="session")
def ha_cluster(cluster, posts_before_ha) -> Cluster:
    """db2 joins db_servers and site.yml runs once: the running database server becomes the first
    member of a Patroni cluster (its data kept), db2 copies it, the app servers dial both. The
    Cluster reaches db2 as ``cluster.server("db2")``; its ``conversion`` is this run."""
    hosts = cluster.prov.inventory_dir / "hosts.yml"
    if os.environ.get("E2E_REUSE") == "1" and INVENTORY_HOSTS["db2"] in hosts.read_text():
        # A kept lab that is a cluster already, taken as it is (support.playbooks: E2E_REUSE).
        print("\nE2E_REUSE=1: the kept lab's Patroni cluster, site.yml not run again")
        kept = sorted(cluster.prov.log_dir.glob("*-site-ha.log"))
        cluster.conversion = PlaybookRun.from_log(kept[-1]) if kept else None
        return cluster
    write_lab_hosts(cluster.lab, cluster.prov.inventory_dir, HA_DB_SERVERS)
    started = time.monotonic()
    run = cluster.prov.run_playbook("site-ha")
    print(
        f"\nsite.yml adding db2 (a Patroni cluster from the running server): "
        f"{time.monotonic() - started:.0f} s"
    )
    if run.returncode != 0:
        pytest.fail(f"site.yml with db2 failed; log: {run.log_path}\n" + run.tail(), pytrace=False)
    cluster.conversion = run
    return cluster
