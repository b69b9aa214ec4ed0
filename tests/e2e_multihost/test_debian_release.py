"""The lab boots its own Debian release (tests/e2e/testbed/releases.py: not the single server's, so
every run proves both), and site.yml puts that release's settings to work: the roles'
vars/Debian-<version>.yml for its PostgreSQL, its OpenSSH and the Python of the releases."""

from __future__ import annotations

from e2e.testbed import releases
from support.roles import release_var

from .cluster import APP_ROOT, APP_SERVERS, su_sql

VERSION = releases.VERSIONS[releases.LAB]
PYTHON_VERSION = "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"


def test_every_server_boots_the_lab_release_not_the_single_server_one(cluster):
    assert releases.LAB != releases.SINGLE_SERVER
    for role in ("db", *APP_SERVERS):
        booted = cluster.sh(role, ". /etc/os-release && echo $VERSION_CODENAME $VERSION_ID")
        assert booted == f"{releases.LAB} {VERSION}", role


def test_the_database_runs_the_postgresql_of_the_release(cluster):
    version_num = int(su_sql(cluster, "SHOW server_version_num"))
    assert str(version_num // 10000) == release_var("postgresql", "__postgresql_version", VERSION)


def test_sshd_offers_the_key_exchanges_of_the_release(cluster):
    expected = ",".join(release_var("base", "__base_ssh_kex_algorithms", VERSION))
    for role in ("db", *APP_SERVERS):
        assert cluster.sh(role, "/usr/sbin/sshd -T | grep '^kexalgorithms '").split()[1] == expected


def test_the_releases_run_on_the_python_of_the_release(cluster):
    for role in APP_SERVERS:
        release = cluster.sh(role, f"{APP_ROOT}/current/venv/bin/{PYTHON_VERSION}")
        assert release == cluster.sh(role, f"/usr/bin/{PYTHON_VERSION}"), role
        print(f"{role}: the release runs Python {release}")
