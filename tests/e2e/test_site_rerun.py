"""site.yml re-run on a server that serves a release. Without a revision (the secret-rotation
runbook) it keeps that release and restarts Gunicorn onto the new secret under HTTPS load, and
closes the database port to an app server that has left the inventory. Asked for another
revision, it ships it through the release path with a graceful reload.

It runs after test_release_history.py (support/ordering.py); it leaves its own commit serving.
"""

from __future__ import annotations

import shlex
import subprocess
import time

import pytest
from support.paths import REPO
from support.releases import GIT, commit
from support.roles import role_default, role_var

from .app_socket import PROBE_LOOP, until_socket_answers
from .backups import api
from .releases import release_load, served_revision

pytestmark = pytest.mark.releases

# An app server that was removed from the inventory (a TEST-NET address nothing answers on): the
# database server's firewall still admitted it, as it would after a scale-down.
REMOVED_APP_SERVER = "192.0.2.77"
POSTGRESQL_RULE = (
    f"allow from {REMOVED_APP_SERVER} to any port {role_default('postgresql', 'postgresql_port')}"
    f" proto tcp comment '{role_var('postgresql', '__postgresql_firewall_comment')}'"
)


@pytest.fixture(scope="module")
def rerun(provisioned, revisions, cacert, client):
    """A token signed with the old key, then site.yml re-run under load with a rotated SECRET_KEY
    and the removed app server's firewall rule in place."""
    serving = served_revision(provisioned)
    user = {"username": f"rotate{int(time.time())}", "password": "a-long-rotation-password-7"}
    api(client, "POST", "/api/v1/auth/register/", user)
    old_token = api(client, "POST", "/api/v1/auth/token/", user)["access"]
    provisioned.sh(f"ufw {POSTGRESQL_RULE}")
    assert REMOVED_APP_SERVER in provisioned.sh("ufw show added")
    provisioned.rotate_secret("vault_app_secret_key")
    with release_load(provisioned, cacert) as load:
        run = provisioned.run_playbook(
            "site-rotate-secret", "site.yml", ["-e", f"release_build_repo={revisions['clone']}"]
        )
    print("\n" + load.result.summary())
    assert run.returncode == 0, f"site.yml failed, log: {run.log_path}\n{run.tail()}"
    return {"serving": serving, "user": user, "old_token": old_token, "run": run, "load": load}


def test_site_yml_keeps_the_serving_release_and_rotates_a_secret(rerun, provisioned, client):
    """Re-running site.yml ships no code, though the checkout has a newer commit, and restarts
    Gunicorn onto the new SECRET_KEY with no failed request."""
    serving, run, result = rerun["serving"], rerun["run"], rerun["load"].result
    assert f"{serving} keeps serving" in run.stdout
    assert "RUNNING HANDLER [app : Restart gunicorn]" in run.stdout
    assert result.errors == 0, result.error_samples
    assert set(result.revisions) == {serving}
    assert served_revision(provisioned) == serving
    # Tokens signed with the old key are refused now: the new key is in use.
    assert client.request("/api/v1/auth/me/", token=rerun["old_token"]).status == 401
    new_token = api(client, "POST", "/api/v1/auth/token/", rerun["user"])["access"]
    username = api(client, "GET", "/api/v1/auth/me/", token=new_token)["username"]
    assert username == rerun["user"]["username"]


def test_site_yml_closes_the_database_port_to_a_removed_app_server(rerun, provisioned):
    """pg_hba.conf is rendered whole; the firewall keeps what it was given, so the run must close
    the rule of a server that is no longer in app_servers (and keep SSH and HTTPS open)."""
    added = provisioned.sh("ufw show added")
    assert REMOVED_APP_SERVER not in added, added
    assert REMOVED_APP_SERVER not in provisioned.sh("ufw status")
    assert "22/tcp" in added and "443/tcp" in added


def _mark_urls(clone) -> None:
    with open(clone / "app" / "config" / "urls.py", "a") as f:
        f.write("# e2e: a release shipped by site.yml\n")


def test_site_yml_asked_for_another_revision_reloads_it_without_downtime(provisioned, tmp_path):
    """site.yml with release_revision ships it through the release path: new release dir,
    `current` switched, HUP (the same main PID, no restart), every request during it answered.
    After the rotation above: the app role has nothing to change, only the release."""
    clone = tmp_path / "repo"
    subprocess.run([*GIT, "clone", "--quiet", str(REPO), str(clone)], check=True)
    new_sha = commit(clone, "e2e release", _mark_urls)
    main_pid = provisioned.sh("systemctl show -p MainPID --value gunicorn.service")

    # Probe Gunicorn through its socket for the whole run: one loop on the server, in one SSH
    # session (a connection per probe would cost the playbook a share of the 2 cores).
    prober = subprocess.Popen(
        provisioned.testbed.ssh_argv(f"python3 -u -c {shlex.quote(PROBE_LOOP)}"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    try:
        run = provisioned.run_playbook(
            "site-new-release",
            "site.yml",
            ["-e", f"release_build_repo={clone}", "-e", f"release_revision={new_sha}"],
        )
    finally:
        elapsed = time.monotonic() - started
        prober.terminate()
        out, err = prober.communicate(timeout=60)
    assert run.returncode == 0, f"site.yml failed, log: {run.log_path}\n{run.tail()}"
    answers = [line for line in out.splitlines() if " 200 " in line]
    failures = [line for line in out.splitlines() if " 200 " not in line]
    assert "RUNNING HANDLER [release : Reload gunicorn gracefully]" in run.stdout
    assert "TASK [release : Probe the readiness of the new release" in run.stdout
    assert "TASK [release : Mark a restore point before migrating" in run.stdout
    assert "RUNNING HANDLER [app : Restart gunicorn]" not in run.stdout
    assert served_revision(provisioned) == new_sha
    assert provisioned.sh("systemctl show -p MainPID --value gunicorn.service") == main_pid
    provisioned.sh(until_socket_answers(f"X-App-Revision: {new_sha}"))
    print(f"\nrequests during site.yml: {len(answers)} answered, {len(failures)} failed")
    assert not failures, failures
    # The probe ran for the whole run (at least one answer a second), not just its start.
    assert len(answers) >= elapsed, f"{len(answers)} answers in {elapsed:.0f} s: {err}"
