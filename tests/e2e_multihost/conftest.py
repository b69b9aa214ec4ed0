"""Session fixtures for the three-server end-to-end tests (the layout beyond one server).

``lab``      three booted servers of the lab's release (testbed/releases.py) on one private network:
             ``db`` (PostgreSQL, backups) and ``app1``/``app2`` (Gunicorn, nginx, releases).
``cluster``  the lab after ``ansible-playbook -i <inventory> site.yml`` ran once from deploy/,
             with the inventory grouped by job as an operator would write it for three servers.
``revisions`` a clone of this repository with three more commits to ship (support.releases);
             each module that ships them has its own.

The playbook runs, the vault, the log files and the test order are support's, as in tests/e2e,
so both suites provision exactly the same way. Knobs: E2E_KEEP=1 leaves the lab up (then
``python -m tests.e2e.testbed lab-ssh|lab-down``), TESTBED_LAB_NAME, TESTBED_LAB_SUBNET_PREFIX.
"""

from __future__ import annotations

import pytest
from e2e.testbed.lab import Lab
from support.client import Client
from support.inventory import SERVER_NAME
from support.ordering import pytest_collection_modifyitems, pytest_configure  # noqa: F401
from support.playbooks import booted, provision
from support.releases import make_revisions

from .cluster import APP_SERVERS, INVENTORY_HOSTS, Cluster
from .lab_inventory import write_lab_inventory


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
