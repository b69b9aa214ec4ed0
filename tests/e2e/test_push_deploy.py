"""`git push` deploys, run for real: a push to main of a local bare repository whose hook runs
the deploy workflow (.github/workflows/deploy.yml) with act, as ci.yml's deploy job calls it
after the release job built the artifact (built here beforehand, the release job's part). Every
step of the deploy job runs on this controller against the provisioned test server: the
empty-secret guard, the revision checks, the SSH key and the pinned known_hosts, `make deploy`
of that artifact, the smoke test, and the deploy log names the actor and the run.

The pushed commit is the user's fork as README's "deploy with git push" has it: its production
inventory is the test server's (hosts.yml without the SSH key or options: those come from the
job's secrets). act's stand-ins for GitHub's actions are in tests/support/act_standins/.

Runs last of the release modules (support/ordering.py): it leaves its commit serving.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
import yaml
from support.act import standin_args, write_post_receive_hook
from support.inventory import SERVER_NAME
from support.releases import GIT, prebuild
from support.tools import VENV_BIN

from .releases import APP_ROOT, served_revision

pytestmark = pytest.mark.releases

WORKFLOW = ".github/workflows/deploy.yml"
ACTOR = "e2e-pusher"
REPOSITORY = "e2e/board"
RUN_ID = "4242"


def _fork_commit(provisioned, revisions) -> str:
    """A commit on the good release whose production inventory is the test server's."""
    clone = revisions["clone"]
    subprocess.run(
        [*GIT, "-C", str(clone), "checkout", "--quiet", "-B", "fork", revisions["visible"]],
        check=True,
    )
    production = clone / "deploy/inventories/production"
    shutil.rmtree(production)
    shutil.copytree(provisioned.inventory_dir, production)
    hosts = yaml.safe_load((production / "hosts.yml").read_text())
    for group in hosts.values():
        for child in group.get("children", {}).values():
            for host in (child.get("hosts") or {}).values():
                for key in ("ansible_ssh_private_key_file", "ansible_ssh_common_args"):
                    (host or {}).pop(key, None)
    (production / "hosts.yml").write_text(
        "---\n# The test server, reached with the deploy job's key and pinned host keys.\n"
        + yaml.safe_dump(hosts, sort_keys=False)
    )
    subprocess.run([*GIT, "-C", str(clone), "add", "-A", "deploy/inventories"], check=True)
    subprocess.run(
        [*GIT, "-C", str(clone), "commit", "--quiet", "-m", "e2e: the fork's inventory"],
        check=True,
    )
    return subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_push_to_main_deploys_the_commit_through_the_workflow(
    provisioned, revisions, cacert, tmp_path
):
    testbed = provisioned.testbed
    before = served_revision(provisioned)
    commit = _fork_commit(provisioned, revisions)
    # ci.yml's release job: the artifact built once from the commit, its sha256 recorded.
    artifact, sha256 = prebuild(provisioned, revisions, commit)
    store = tmp_path / "artifacts"
    (store / f"release-{commit}").mkdir(parents=True)
    shutil.copy(artifact, store / f"release-{commit}")
    (store / f"release-{commit}.sha256").write_text(sha256 + "\n")

    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    log = provisioned.log_dir / f"{len(provisioned.runs) + 1:02d}-act-deploy.log"
    write_post_receive_hook(
        bare,
        WORKFLOW,
        # What ci.yml's deploy job is: deploy.yml called with the release job's outputs.
        "workflow_call",
        [
            *("-P", "ubuntu-24.04=-self-hosted"),
            *standin_args(WORKFLOW),
            *("--actor", ACTOR),
            *("--env", f"GITHUB_REPOSITORY={REPOSITORY}", "--env", f"GITHUB_RUN_ID={RUN_ID}"),
            *("--env", f"ACT_STANDIN_VENV={VENV_BIN.parent}"),
            *("--env", f"ACT_STANDIN_ARTIFACTS={store}"),
            *("--var", f"PUBLIC_URL=https://{SERVER_NAME}"),
            # The smoke test reaches the test server by its name, and trusts its certificate.
            *("--env", f"SMOKE_RESOLVE={SERVER_NAME}:443:{testbed.ip}"),
            *("--env", f"SMOKE_CACERT={cacert}"),
            *("-s", "DEPLOY_SSH_KEY", "-s", "DEPLOY_KNOWN_HOSTS", "-s", "ANSIBLE_VAULT_PASSWORD"),
        ],
        f'printf \'%s\\n\' --input "revision=$new" --input "artifact=release-$new" '
        f'--input "artifact-sha256=$(cat {store}/release-$new.sha256)"',
        log,
    )
    secrets = {
        "DEPLOY_SSH_KEY": testbed.key_path.read_text(),
        "DEPLOY_KNOWN_HOSTS": testbed.known_hosts.read_text(),
        "ANSIBLE_VAULT_PASSWORD": provisioned.vault_password_file.read_text().strip(),
    }
    assert all(secrets.values()), [k for k, v in secrets.items() if not v]
    started = time.monotonic()
    push = subprocess.run(
        [*GIT, "-C", str(revisions["clone"]), "push", "--quiet", str(bare), "fork:refs/heads/main"],
        capture_output=True,
        text=True,
        env=dict(os.environ, **secrets),
    )
    seconds = time.monotonic() - started
    print(f"\ngit push to the act run's end: {seconds:.1f} s; act's log: {log}")
    assert push.returncode == 0, push.stderr[-3000:]
    assert log.exists(), f"the hook ran no workflow: {push.stderr[-3000:]}"
    out = log.read_text(errors="replace")
    steps = re.findall(r"(✅|❌)  (?:Success|Failure) - Main (.+?) \[", out)
    print("\n".join(f"{mark} {name}" for mark, name in steps))
    assert "🏁  Job succeeded" in out, out[-5000:]
    for step in (
        "Check that the deploy secrets are set",
        "Validate the revision and settings",
        "Only commits on main are deployed",
        "Skip when production already runs a newer commit",
        "Install the deploy tooling (Ansible)",
        "Download the release artifact built by CI",
        "Write the SSH key, pinned known_hosts and vault password (0600)",
        "make deploy",
        "Smoke test",
        "Remove the credentials",
    ):
        assert ("✅", step) in steps, step
    assert "Deploy secrets are set." in out
    # make deploy shipped the downloaded file, checked against the recorded sha256.
    assert "TASK [release : Refuse a given artifact whose sha256 differs" in out
    assert "smoke-test: ok   revision matches" in out
    # No secret in the run's output (the job never prints them; act would mask them).
    for name, value in secrets.items():
        for line in value.strip().splitlines():
            assert len(line) < 20 or line not in out, f"{name} in act's output"
    assert served_revision(provisioned) == commit != before
    installed = provisioned.sh(f"cat {APP_ROOT}/releases/{commit}/.artifact-sha256")
    assert installed == sha256
    deploy_log = provisioned.sh(f"tail -n 1 {APP_ROOT}/shared/deploy.log")
    print(deploy_log)
    assert re.search(
        rf" deploy revision={commit} by={ACTOR} "
        rf"run=https://\S+/{REPOSITORY}/actions/runs/{RUN_ID} outcome=success",
        deploy_log,
    ), deploy_log
