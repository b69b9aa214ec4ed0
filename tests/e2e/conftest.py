"""Session fixtures for the end-to-end tests.

``testbed``      a booted Debian 12 server (see the testbed package); torn down at the end
                 of the session, also when tests fail or are interrupted.
``provisioned``  the same server after ``ansible-playbook -i <test inventory>
                 site.yml`` ran once from deploy/, exactly as an operator runs it;
                 ``provisioned.sh(cmd)`` runs a command there as root.
``server_cert``  the server's self-signed certificate (a file), fetched over SSH.
``client``       curl against the site over HTTPS, verified against that certificate.

Environment knobs (besides the TESTBED_* ones of the testbed package):
    E2E_KEEP=1            leave the test server up after the session (then
                          ``python -m tests.e2e.testbed ssh|down``).
    E2E_PLAYBOOK          playbook relative to deploy/ (default site.yml).
    E2E_ANSIBLE_ARGS      extra ansible-playbook arguments (e.g. "--tags base,postgresql").
    E2E_LOG_DIR           where ansible logs are kept (default
                          /var/tmp/board-e2e-logs/<TESTBED_NAME>).

``revisions``    a clone of this repository with three more commits to ship (support.releases).

The order the tests run in (``last``, ``releases``, ...) is support/ordering.py's; the playbook
runs, the vault and the knobs below are support/playbooks.py's, shared with tests/e2e_multihost.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.client import Client
from support.ordering import pytest_collection_modifyitems, pytest_configure  # noqa: F401
from support.playbooks import booted, provision
from support.releases import make_revisions

from .server_inventory import write_test_inventory
from .testbed import Testbed


@pytest.fixture(scope="session")
def testbed():
    with booted(Testbed(), "test server") as tb:
        yield tb


@pytest.fixture(scope="session")
def provisioned(testbed):
    return provision(testbed, testbed, lambda inv: write_test_inventory(testbed, inv))


@pytest.fixture(scope="session")
def admin_url(provisioned) -> str:
    """The Django admin's path on the test server."""
    return provisioned.admin_url()


# Module scope: test_tls_scan.py renews the certificate, so each module fetches the current one.
@pytest.fixture(scope="module")
def server_cert(provisioned, tmp_path_factory) -> Path:
    """The server's self-signed certificate, fetched over SSH: clients verify TLS against it."""
    cert = provisioned.sh(f"cat /etc/ssl/certs/{provisioned.server_name}.crt")
    path = tmp_path_factory.mktemp("tls") / "server.crt"
    path.write_text(cert + "\n")
    return path


@pytest.fixture(scope="module")
def client(provisioned, server_cert) -> Client:
    """curl against the provisioned site (see client.py)."""
    assert "BEGIN CERTIFICATE" in server_cert.read_text()
    return Client(provisioned.testbed.ip, provisioned.server_name, server_cert)


# Session scope: the release modules (test_deploy.py, test_rollback.py, ...) ship these commits one
# after the other, so they share one clone and its commits.
@pytest.fixture(scope="session")
def revisions(tmp_path_factory) -> dict:
    return make_revisions(tmp_path_factory.mktemp("releases") / "repo")


@pytest.fixture(scope="module")
def cacert(server_cert) -> Path:
    """The CA file the HTTPS load verifies the site against (its self-signed certificate)."""
    return server_cert
