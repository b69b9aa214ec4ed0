"""What the release tests (test_deploy.py, test_rollback.py, ...) share on the single server:
where releases live, which one serves, and a deploy under HTTPS load."""

from __future__ import annotations

import time

from support.load import SWITCH_LOAD_RATE, HttpsLoad
from support.releases import deploy_args, prebuild
from support.roles import role_default

APP_ROOT = role_default("app", "app_root")
DUMP_DIR = role_default("release", "release_dump_dir")


def release_load(provisioned, cacert) -> HttpsLoad:
    # At least 20 s of load, and a hard stop at 300 s: a deploy takes 40-50 s on an idle machine,
    # several times that when other suites share its two cores.
    return HttpsLoad(
        provisioned.testbed.ip,
        provisioned.server_name,
        str(cacert),
        threads=3,
        rate=SWITCH_LOAD_RATE,
        min_seconds=20,
        max_seconds=300,
        # A request is an error when it fails, not when a busy machine is slow: the deploy's
        # pip install and compileall share the two cores with nginx and Gunicorn.
        timeout=30,
    )


def served_revision(provisioned) -> str:
    return provisioned.sh(f"readlink {APP_ROOT}/current").removeprefix("releases/")


def api_version(client) -> str:
    for _ in range(30):  # the controller's address may still be over its rate (a 429 test)
        schema = client.request(
            "/api/schema/?format=json", headers={"Accept": "application/vnd.oai.openapi+json"}
        )
        if schema.status != 429:
            break
        time.sleep(5)
    assert schema.status == 200, schema.body[:300]
    return schema.json()["info"]["version"]


def deploy_under_load(provisioned, revisions, cacert, name: str, *extra: str):
    """deploy.yml of revisions[name] (artifact built beforehand) under HTTPS load; `extra`,
    more of its arguments."""
    prebuild(provisioned, revisions, revisions[name])
    with release_load(provisioned, cacert) as load:
        run = provisioned.run_playbook(
            f"deploy-{name}",
            "deploy.yml",
            deploy_args(revisions, revisions[name], *extra),
        )
    print("\n" + load.result.summary())
    return run, load.result
