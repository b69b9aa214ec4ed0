"""The order the end-to-end suites run their tests in, and the markers that set it.

Both suites' conftest.py import these hooks. Read-only tests run first; then the tests marked
``last`` (idempotence), ``releases`` (they change the deployed release), ``faults`` (they
break services on purpose), then ``drills``, then ``high_availability`` (a second database
server: the topology changes for good), then ``external_db`` (the app servers leave the lab's
database servers for good: the conversion must find them serving from its own), and at the very
end ``acme`` (the site's certificate changes, and the suites' clients trust the certificate the
lab served at the start).
"""

from __future__ import annotations

# The `releases` modules share one history of releases on the server: each starts from what the
# one before left (the release that serves, the deploy log, the rotated secrets), so they run in
# this order; modules not named here run first, in file order.
RELEASE_MODULES = (
    "test_backups",
    "test_deploy",
    "test_migration_lock",
    "test_rollback",
    "test_release_history",
    "test_site_rerun",
    "test_restore",
    "test_release_secrets",
    "test_push_deploy",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run this test after the read-only ones")
    config.addinivalue_line(
        "markers", "releases: change the deployed release; run after `last` (idempotence)"
    )
    config.addinivalue_line(
        "markers", "faults: break services on purpose (fault drills); run after `releases`"
    )
    config.addinivalue_line(
        "markers", "external_db: move the app servers to another database; run after the drills"
    )
    config.addinivalue_line(
        "markers", "drills: destroy and restore the database (restore.yml); run after everything"
    )
    config.addinivalue_line(
        "markers", "acme: switch the site's certificate to an ACME one; run at the very end"
    )
    config.addinivalue_line(
        "markers",
        "high_availability: a second database server (Patroni), for good; run before acme",
    )


def _group(item) -> int:
    if item.get_closest_marker("acme") is not None:
        return 7
    if item.get_closest_marker("external_db") is not None:
        return 6
    if item.get_closest_marker("high_availability") is not None:
        return 5
    if item.get_closest_marker("drills") is not None:
        return 4
    if item.get_closest_marker("faults") is not None:
        return 3
    if item.get_closest_marker("releases") is not None:
        return 2
    return 1 if item.get_closest_marker("last") is not None else 0


def _order(item) -> tuple[int, int]:
    group = _group(item)
    module = item.path.stem
    step = RELEASE_MODULES.index(module) + 1 if group == 2 and module in RELEASE_MODULES else 0
    return group, step


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_order)  # stable: file order within each group and step
