"""What deploys keep: release_keep_releases prunes old releases and their dumps, and every
deploy and rollback is a line of the deploy log.

It runs after test_rollback.py (support/ordering.py): the log holds the deploys and the rollback
of test_deploy.py and test_rollback.py.
"""

from __future__ import annotations

import re

import pytest
from support.releases import deploy_args

from .releases import APP_ROOT, DUMP_DIR, api_version

pytestmark = pytest.mark.releases


def test_keep_releases_prunes_old_releases_and_their_dumps(provisioned, revisions, cacert, client):
    # The logical pre-migration dump stays an option (release_pre_migration_dump).
    run = provisioned.run_playbook(
        "deploy-another",
        "deploy.yml",
        deploy_args(
            revisions,
            revisions["another"],
            "-e",
            "release_keep_releases=2",
            "-e",
            "release_pre_migration_dump=true",
        ),
    )
    assert run.returncode == 0, f"deploy.yml failed, log: {run.log_path}\n{run.tail()}"
    assert "Marked restore point" not in run.stdout
    releases = provisioned.sh(f"ls {APP_ROOT}/releases").split()
    assert len(releases) == 2 and revisions["another"] in releases, releases
    dumps = provisioned.sh(f"ls {DUMP_DIR}").split()
    assert dumps and all(d.split("-")[0] in releases for d in dumps), dumps
    assert re.search(rf"^{revisions['another']}-\d{{8}}T\d{{6}}Z\.pgc$", "\n".join(dumps), re.M)
    assert provisioned.sh(f"stat -c '%a %U' {DUMP_DIR}/{revisions['another']}-*.pgc") == (
        "600 postgres"
    )
    assert api_version(client) == "1.0.2-e2e"


def test_every_deploy_is_in_the_deploy_log(provisioned, revisions):
    log = provisioned.sh(f"cat {APP_ROOT}/shared/deploy.log")
    print("\n" + log)
    # Who shipped: user@host of the controller (GITHUB_ACTOR and the run URL in Actions).
    by = r"by=[^@\s]+@\S+"
    assert re.search(
        rf"deploy revision={revisions['visible']} {by} outcome=success"
        rf" restore_point=deploy-{revisions['visible'][:12]}-\d{{8}}T\d{{6}}Z$",
        log,
        re.M,
    )
    assert re.search(rf"deploy revision={revisions['broken']} {by} outcome=failed", log)
    assert re.search(rf"rollback revision={revisions['head']} {by} outcome=success", log)
    assert "by=unknown" not in log
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", log, re.M)
