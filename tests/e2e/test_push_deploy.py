"""`git push` deploys, run for real: pushes to main of a local bare repository whose hook runs
CI (.github/workflows/ci.yml, as committed) with act; its deploy job calls deploy.yml, as
committed, against the provisioned test server.

Two pushes, in this order:
1. a commit whose test job fails (a model field without its migration: the real
   `make migrations-check` fails) is not deployed: every other job passes, the deploy job never
   starts, the server keeps serving its release and its deploy log gets no line;
2. the fix (that commit reverted) passes every job, and the deploy job ships the artifact that
   the release job built (the real build_release.sh) with its recorded sha256: the empty-secret
   guard, the revision checks, the SSH key and the pinned known_hosts, `make deploy`, the smoke
   test, and the deploy log names the actor and the run.
So the deploy's `needs:` is proven both ways.

The pushed commits are the user's fork as README's "deploy with git push" has it: its production
inventory is the test server's (hosts.yml without the SSH key or options: those come from the
job's secrets). Stand-ins, each saying what it stands in for: GitHub's actions in
tests/support/act_standins/<action>/, sudo in act_standins/bin, and in act_standins/ci.mk the
make targets that cannot run inside this test (lint, the API suite on both databases, the
end-to-end and container suites: `make test` runs each of them for real; each stand-in passes).
The test job's migrations-check and check-deploy, the lint job's workflow lint, the release
build and the whole deploy job run for real.

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
from support.act import standin_args, with_ci_standins, write_post_receive_hook
from support.inventory import SERVER_NAME
from support.paths import REPO
from support.releases import GIT, add_tag_note_field
from support.tools import VENV_BIN

from .releases import APP_ROOT, served_revision

pytestmark = pytest.mark.releases

CI = ".github/workflows/ci.yml"
DEPLOY = ".github/workflows/deploy.yml"
ACTOR = "e2e-pusher"
REPOSITORY = "e2e/board"
RUN_ID = "4242"
SECRETS = ("DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS", "ANSIBLE_VAULT_PASSWORD")
DEPLOY_LOG = f"{APP_ROOT}/shared/deploy.log"

_JOBS = yaml.safe_load((REPO / CI).read_text())["jobs"]
# act names a job "<workflow>/<job name>"; the deploy job's, a call, "<job name>/Deploy/...".
FIRST_STAGE = {f"CI/{job['name']}" for key, job in _JOBS.items() if key != "deploy"}
TEST_JOB = f"CI/{_JOBS['test']['name']}"
DEPLOY_JOB = _JOBS["deploy"]["name"]


def _git(clone, *args: str) -> str:
    return subprocess.run(
        [*GIT, "-C", str(clone), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _fork_commit(provisioned, revisions) -> str:
    """A commit on the good release whose production inventory is the test server's, with the
    stand-ins of ci.yml's make targets (support/act.py's with_ci_standins)."""
    clone = revisions["clone"]
    _git(clone, "checkout", "--quiet", "-B", "fork", revisions["visible"])
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
    _git(clone, "add", "-A", "deploy/inventories")
    with_ci_standins(clone)
    _git(clone, "commit", "--quiet", "-m", "e2e: the fork's inventory; stand-ins for CI's suites")
    return _git(clone, "rev-parse", "HEAD")


def _jobs(out: str) -> dict[str, str]:
    """{act's job name: "succeeded" | "failed"} of the jobs that ran."""
    return dict(re.findall(r"^\[(.+?)\s*\]\s+🏁  Job (succeeded|failed)", out, re.M))


def _deploy_log_lines(provisioned) -> int:
    return int(provisioned.sh(f"if [ -f {DEPLOY_LOG} ]; then wc -l <{DEPLOY_LOG}; else echo 0; fi"))


@pytest.fixture(scope="module")
def pushes(provisioned, revisions, cacert, tmp_path_factory):
    """push(name) pushes the clone's branch `fork` to main of a bare repository whose hook runs
    ci.yml with act; returns act's output (also in the suite's log directory)."""
    testbed = provisioned.testbed
    work = tmp_path_factory.mktemp("push")
    bare = work / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    args = [
        *("-P", "ubuntu-24.04=-self-hosted"),
        *standin_args(CI, DEPLOY),
        *("--actor", ACTOR),
        *("--env", f"GITHUB_REPOSITORY={REPOSITORY}", "--env", f"GITHUB_RUN_ID={RUN_ID}"),
        *("--env", f"ACT_STANDIN_VENV={VENV_BIN.parent}"),
        *("--env", f"ACT_STANDIN_ARTIFACTS={work / 'artifacts'}"),
        *("--var", f"PUBLIC_URL=https://{SERVER_NAME}"),
        # The smoke test reaches the test server by its name, and trusts its certificate.
        *("--env", f"SMOKE_RESOLVE={SERVER_NAME}:443:{testbed.ip}"),
        *("--env", f"SMOKE_CACERT={cacert}"),
        *(a for name in SECRETS for a in ("-s", name)),
    ]
    secrets = {
        "DEPLOY_SSH_KEY": testbed.key_path.read_text(),
        "DEPLOY_KNOWN_HOSTS": testbed.known_hosts.read_text(),
        "ANSIBLE_VAULT_PASSWORD": provisioned.vault_password_file.read_text().strip(),
    }
    assert all(secrets.values()), [k for k, v in secrets.items() if not v]

    def push(name: str) -> str:
        # Without its stand-ins, ci.yml's jobs would run the real suites here, on test beds named
        # as this one (TESTBED_* reach act): they would take this very server down.
        _git(revisions["clone"], "cat-file", "-e", "fork:GNUmakefile")
        log = provisioned.log_dir / f"{len(provisioned.runs) + 1:02d}-act-ci-{name}.log"
        write_post_receive_hook(bare, CI, "push", args, "true", log)
        started = time.monotonic()
        run = subprocess.run(
            [*GIT, "-C", str(revisions["clone"]), "push", "-q", str(bare), "fork:refs/heads/main"],
            capture_output=True,
            text=True,
            env=dict(os.environ, **secrets),
        )
        print(f"\ngit push ({name}) to the act run's end: {time.monotonic() - started:.1f} s")
        assert run.returncode == 0, run.stderr[-3000:]
        assert log.exists(), f"the hook ran no workflow: {run.stderr[-3000:]}"
        out = log.read_text(errors="replace")
        print("\n".join(f"{outcome:9} {job}" for job, outcome in sorted(_jobs(out).items())))
        print(f"act's log: {log}")
        # No secret in the run's output (the jobs never print them; act would mask them).
        for secret, value in secrets.items():
            for line in value.strip().splitlines():
                assert len(line) < 20 or line not in out, f"{secret} in act's output"
        return out

    _fork_commit(provisioned, revisions)
    return push


def test_a_push_whose_test_job_fails_is_not_deployed(provisioned, revisions, pushes):
    before, lines = served_revision(provisioned), _deploy_log_lines(provisioned)
    clone = revisions["clone"]
    add_tag_note_field(clone)
    _git(clone, "commit", "--quiet", "-am", "e2e: a model field, its migration forgotten")
    out = pushes("test-fails")
    jobs = _jobs(out)
    assert jobs.get(TEST_JOB) == "failed", out[-5000:]
    # Its real migrations-check failed: the commit's missing migration.
    assert re.search(r"\[Makefile:\d+: migrations-check\] Error 1", out), out[-5000:]
    assert {job: "succeeded" for job in FIRST_STAGE - {TEST_JOB}}.items() <= jobs.items(), jobs
    # act's only error is that failure: the deploy job was skipped for it (act also stops at a
    # `uses:` it cannot read, GitHub's `$/...`, with an error of its own).
    errors = re.findall(r"^Error: (.+?)\s*$", out, re.M)
    assert errors == [f"Job '{_JOBS['test']['name']}' failed"], errors
    # The deploy job never started: none of its lines, none of deploy.yml's steps.
    assert not [job for job in jobs if job.startswith(DEPLOY_JOB)], jobs
    assert f"[{DEPLOY_JOB}/" not in out
    assert "Check that the deploy secrets are set" not in out
    assert served_revision(provisioned) == before
    assert _deploy_log_lines(provisioned) == lines


def test_the_fix_pushed_passes_ci_and_ships_the_built_artifact(provisioned, revisions, pushes):
    before = served_revision(provisioned)
    clone = revisions["clone"]
    _git(clone, "revert", "--no-edit", "HEAD")
    commit = _git(clone, "rev-parse", "HEAD")
    out = pushes("fixed")
    jobs = _jobs(out)
    assert not re.findall(r"^Error: .+", out, re.M), out[-5000:]
    assert {job: "succeeded" for job in FIRST_STAGE}.items() <= jobs.items(), out[-5000:]
    assert [outcome for job, outcome in jobs.items() if job.startswith(DEPLOY_JOB)] == [
        "succeeded"
    ], out[-5000:]
    # The release job's build of this commit, and the sha256 it recorded.
    built = re.search(rf"Built board-{commit}-\S+\.tar\.gz, sha256 ([0-9a-f]{{64}})", out)
    assert built, out[-5000:]
    steps = re.findall(
        rf"^\[{re.escape(DEPLOY_JOB)}/.*?\]\s+(✅|❌)  (?:Success|Failure) - Main (.+?) \[",
        out,
        re.M,
    )
    print("\n".join(f"{mark} {name}" for mark, name in steps))
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
    assert served_revision(provisioned) == commit != before
    installed = provisioned.sh(f"cat {APP_ROOT}/releases/{commit}/.artifact-sha256")
    assert installed == built.group(1)
    deploy_log = provisioned.sh(f"tail -n 1 {DEPLOY_LOG}")
    print(deploy_log)
    assert re.search(
        rf" deploy revision={commit} by={ACTOR} "
        rf"run=https://\S+/{REPOSITORY}/actions/runs/{RUN_ID} outcome=success",
        deploy_log,
    ), deploy_log
