"""site.yml re-run on a server that serves a release (the secret-rotation runbook): it keeps
that release and restarts Gunicorn onto the new secret under HTTPS load.

It runs after test_release_history.py (support/ordering.py).
"""

from __future__ import annotations

import time

import pytest

from .backups import api
from .releases import release_load, served_revision

pytestmark = pytest.mark.releases


def test_site_yml_keeps_the_serving_release_and_rotates_a_secret(
    provisioned, revisions, cacert, client
):
    """Re-running site.yml (the secret-rotation runbook) ships no code, though the checkout has a
    newer commit, and restarts Gunicorn onto the new SECRET_KEY with no failed request."""
    serving = served_revision(provisioned)
    user = {"username": f"rotate{int(time.time())}", "password": "a-long-rotation-password-7"}
    api(client, "POST", "/api/v1/auth/register/", user)
    old_token = api(client, "POST", "/api/v1/auth/token/", user)["access"]
    provisioned.rotate_secret("vault_app_secret_key")
    with release_load(provisioned, cacert) as load:
        run = provisioned.run_playbook(
            "site-rotate-secret", "site.yml", ["-e", f"release_build_repo={revisions['clone']}"]
        )
    result = load.result
    print("\n" + result.summary())
    assert run.returncode == 0, f"site.yml failed, log: {run.log_path}\n{run.tail()}"
    assert f"{serving} keeps serving" in run.stdout
    assert "RUNNING HANDLER [app : Restart gunicorn]" in run.stdout
    assert result.errors == 0, result.error_samples
    assert set(result.revisions) == {serving}
    assert served_revision(provisioned) == serving
    # Tokens signed with the old key are refused now: the new key is in use.
    assert client.request("/api/v1/auth/me/", token=old_token).status == 401
    new_token = api(client, "POST", "/api/v1/auth/token/", user)["access"]
    assert api(client, "GET", "/api/v1/auth/me/", token=new_token)["username"] == (user["username"])
