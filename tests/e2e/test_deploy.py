"""deploy.yml on the provisioned host: a new revision under continuous HTTPS load from the
controller (support/load.py), where every request must succeed; a release that is not ready, or
that the public URL does not serve, never keeps traffic; one deploy at a time (the lock).

These tests change the deployed release, so they run after the idempotence check (marker
`releases`), in file order, first of the release modules (support/ordering.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from support.paths import DEPLOY
from support.releases import deploy_args, prebuild

from .releases import (
    APP_ROOT,
    DUMP_DIR,
    api_version,
    deploy_under_load,
    release_load,
    served_revision,
)

pytestmark = pytest.mark.releases


def test_deploy_a_new_revision_under_load_with_zero_failures(
    provisioned, revisions, cacert, client, tmp_path
):
    """As CI ships it: the artifact built once (here, beforehand) with its recorded sha256. The
    same file changed after the recording is refused first, before anything reaches the server."""
    before = served_revision(provisioned)
    artifact, sha256 = prebuild(provisioned, revisions, revisions["visible"])
    tampered = tmp_path / artifact.name
    tampered.write_bytes(artifact.read_bytes() + b"\0")
    started = time.monotonic()
    refused = provisioned.run_playbook(
        "deploy-tampered-artifact",
        "deploy.yml",
        deploy_args(
            revisions,
            revisions["visible"],
            *("-e", f"release_artifact={tampered}", "-e", f"release_artifact_sha256={sha256}"),
        ),
    )
    print(f"\nA tampered artifact was refused in {time.monotonic() - started:.1f} s")
    assert refused.returncode != 0
    assert "DEPLOY FAILED at 'Refuse a given artifact whose sha256 differs" in refused.stdout
    assert f"not release_artifact_sha256 {sha256}" in refused.stdout
    assert served_revision(provisioned) == before
    assert revisions["visible"] not in provisioned.sh(f"ls {APP_ROOT}/releases").split()
    run, result = deploy_under_load(
        provisioned,
        revisions,
        cacert,
        "visible",
        *("-e", f"release_artifact={artifact}", "-e", f"release_artifact_sha256={sha256}"),
    )
    assert run.returncode == 0, f"deploy.yml failed, log: {run.log_path}\n{run.tail()}"
    assert result.errors == 0, result.error_samples
    assert result.requests >= 200
    assert served_revision(provisioned) == revisions["visible"]
    # The server installed that very file (its hash, recorded in the release).
    installed = provisioned.sh(f"cat {APP_ROOT}/releases/{revisions['visible']}/.artifact-sha256")
    assert installed == sha256
    # The load saw the switch happen: old code first, new code last.
    assert result.revisions[0] == before and result.revisions[-1] == revisions["visible"]
    assert api_version(client) == "1.0.1-e2e"
    # The way back is a named restore point (O(1)), not a dump of the whole database.
    point = re.search(
        rf"Marked restore point (deploy-{revisions['visible'][:12]}-\d{{8}}T\d{{6}}Z)"
        r" \(WAL [0-9A-F]+/[0-9A-F]+\)",
        run.stdout,
    )
    assert point, run.tail()
    assert revisions["visible"] not in provisioned.sh(f"ls {DUMP_DIR} 2>/dev/null || true")


def test_a_release_that_is_not_ready_never_gets_traffic(provisioned, revisions, cacert):
    run, result = deploy_under_load(provisioned, revisions, cacert, "broken")
    assert run.returncode != 0
    assert "DEPLOY FAILED" in run.stdout
    assert "is not ready" in run.stdout and "e2e broken" in run.stdout
    assert f"Traffic never left {revisions['visible']}" in run.stdout
    assert result.errors == 0, result.error_samples
    assert result.revisions == [revisions["visible"]]
    assert served_revision(provisioned) == revisions["visible"]
    assert provisioned.sh(f"test -d {APP_ROOT}/shared/deploy.lock || echo unlocked") == "unlocked"


def test_a_release_the_public_url_does_not_serve_is_switched_back(
    provisioned, revisions, cacert, client
):
    """The new code is ready, traffic moves, but the public probe fails (here: a path the site
    does not serve, so the probe fails at once instead of waiting out its connect timeouts): the
    deploy switches back and says so, and no request fails meanwhile."""
    serving = served_revision(provisioned)
    prebuild(provisioned, revisions, revisions["another"])
    with release_load(provisioned, cacert) as load:
        run = provisioned.run_playbook(
            "deploy-unreachable-url",
            "deploy.yml",
            deploy_args(
                revisions,
                revisions["another"],
                "-e",
                f"release_public_url=https://{provisioned.server_name}/not-the-board",
                "-e",
                "release_public_probe_attempts=1",
            ),
        )
    print("\n" + load.result.summary())
    assert run.returncode != 0
    assert "DEPLOY FAILED at 'Probe the public URL" in run.stdout
    assert f"Switched back to {serving}, which serves again." in run.stdout
    assert load.result.errors == 0, load.result.error_samples
    assert served_revision(provisioned) == serving
    assert revisions["another"] in load.result.revisions  # traffic did move, then came back
    assert client.request("/healthz").header("x-app-revision") == serving
    releases = provisioned.sh(f"ls {APP_ROOT}/releases").split()
    assert revisions["another"] not in releases


def test_a_concurrent_deploy_is_refused_by_the_lock(provisioned, revisions, cacert):
    first_log = provisioned.log_dir / "deploy-first-of-two.log"
    argv = provisioned.ansible_playbook_argv(
        "deploy.yml", deploy_args(revisions, revisions["visible"])
    )
    with open(first_log, "w") as logf:
        first = subprocess.Popen(
            argv,
            cwd=DEPLOY,
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, ANSIBLE_NOCOLOR="1", USER="first-deployer"),
        )
    try:
        for _ in range(120):
            if (
                provisioned.testbed.ssh(f"test -f {APP_ROOT}/shared/deploy.lock/owner").returncode
                == 0
            ):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the first deploy never took the lock; log: {first_log}")
        second = provisioned.run_playbook(
            "deploy-second-of-two",
            "deploy.yml",
            deploy_args(revisions, revisions["visible"]),
        )
    finally:
        first_rc = first.wait(timeout=600)
    assert second.returncode != 0
    assert "Another deploy is running" in second.stdout
    # The refusal names the holder, where and since when it runs, and how to break a dead lock.
    assert re.search(
        r"holder=first-deployer@\S+, controller=\S+, pid=\d+, since=\S+Z", second.stdout
    )
    assert "release_break_lock=true" in second.stdout
    assert first_rc == 0, first_log.read_text()[-3000:]


def test_a_stale_lock_is_broken_only_when_asked(provisioned, revisions):
    """A deploy killed mid-way leaves its lock: refused with how to break it, then broken."""
    lock = f"{APP_ROOT}/shared/deploy.lock"
    provisioned.sh(
        f"mkdir {lock} && printf 'holder=gone@ci\\ncontroller=ci\\npid=999999\\n"
        f"since=2026-01-01T00:00:00Z\\noperation=deploy\\n' > {lock}/owner"
    )
    refused = provisioned.run_playbook(
        "deploy-stale-lock", "deploy.yml", deploy_args(revisions, revisions["visible"])
    )
    assert refused.returncode != 0
    assert "holder=gone@ci, controller=ci, pid=999999" in refused.stdout
    assert "-e release_break_lock=true" in refused.stdout
    broken = provisioned.run_playbook(
        "deploy-break-lock",
        "deploy.yml",
        deploy_args(revisions, revisions["visible"], "-e", "release_break_lock=true"),
    )
    assert broken.returncode == 0, f"deploy.yml failed, log: {broken.log_path}\n{broken.tail()}"
    assert provisioned.sh(f"test -d {lock} || echo unlocked") == "unlocked"
