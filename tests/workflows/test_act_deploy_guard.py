"""deploy.yml run for real by act (support/act.py) on a push: a deploy secret the caller did not
pass (an empty string on GitHub, without an error) stops the job at its first step, before any
checkout, credential or playbook; only the credentials' removal runs after it.

No server: the job stops before it needs one (tests/e2e/test_push_deploy.py runs the whole job
against the provisioned test server). Run by scripts/lint-workflows.sh (`make lint`).
"""

from __future__ import annotations

import os
import re
import subprocess

from support.act import standin_args, write_post_receive_hook
from support.paths import REPO

WORKFLOW = ".github/workflows/deploy.yml"


def test_a_push_without_the_ssh_key_secret_stops_at_the_guard(tmp_path):
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    log = tmp_path / "act.log"
    write_post_receive_hook(
        bare,
        WORKFLOW,
        "workflow_call",
        [
            *("-P", "ubuntu-24.04=-self-hosted"),
            *standin_args(WORKFLOW),
            # DEPLOY_SSH_KEY is not passed at all.
            *("-s", "DEPLOY_KNOWN_HOSTS", "-s", "ANSIBLE_VAULT_PASSWORD"),
        ],
        "printf '%s\\n' --input \"revision=$new\"",
        log,
    )
    env = dict(os.environ, DEPLOY_KNOWN_HOSTS="a-known-hosts-line", ANSIBLE_VAULT_PASSWORD="a-pw")
    env.pop("DEPLOY_SSH_KEY", None)
    push = subprocess.run(
        ["git", "-C", str(REPO), "push", "--quiet", str(bare), "HEAD:refs/heads/main"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert push.returncode == 0, push.stderr
    out = log.read_text()
    ran = re.findall(r"(?:✅|❌)  (Success|Failure) - Main (.+?) \[", out)
    assert ran == [
        ("Failure", "Check that the deploy secrets are set"),
        ("Success", "Remove the credentials"),
    ], out[-3000:]
    assert "::error::empty deploy secrets: DEPLOY_SSH_KEY." in out
    assert "🏁  Job failed" in out
