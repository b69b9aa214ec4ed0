"""Everyday releases on the provisioned host: deploy.yml, rollback.yml, restore.yml, backups.

Each deploy runs under continuous HTTPS load from the controller (tests/e2e/load.py); every
request must succeed. These tests change the deployed release, so they run after the
idempotence check (marker `releases`), in file order.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .backups import RESTORE_LOG, api, assert_ready_after_restore, metrics, psql, write_posts
from .conftest import DEPLOY, REPO
from .load import HttpsLoad
from .roles import role_default

pytestmark = pytest.mark.releases

APP_ROOT = role_default("app", "app_root")
DUMP_DIR = role_default("release", "release_dump_dir")
DRILL_DIR = role_default("backup", "backup_drill_dir")
DRILL_PORT = role_default("backup", "backup_drill_port")
GIT = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]


def _commit(clone: Path, message: str, edit) -> str:
    edit(clone)
    subprocess.run([*GIT, "-C", str(clone), "commit", "--quiet", "-am", message], check=True)
    return subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def revisions(tmp_path_factory):
    """A clone of this repository with three more commits: a visible change, a release that
    fails readiness, and one more ordinary release."""
    clone = tmp_path_factory.mktemp("releases") / "repo"
    subprocess.run([*GIT, "clone", "--quiet", str(REPO), str(clone)], check=True)
    head = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    settings = clone / "app/config/settings.py"
    views = clone / "app/core/views.py"
    visible = _commit(
        clone,
        "e2e: API version 1.0.1",
        lambda c: _replace(settings, '"VERSION": "1.0.0"', '"VERSION": "1.0.1-e2e"'),
    )
    broken = _commit(
        clone,
        "e2e: a release that is never ready",
        lambda c: _replace(
            views,
            "    connection = connections[DEFAULT_DB_ALIAS]\n",
            '    return JsonResponse({"status": "unavailable", "reason": "e2e broken"}, '
            "status=503)\n"
            "    connection = connections[DEFAULT_DB_ALIAS]\n",
        ),
    )
    # The next ordinary release is built on the good one, not on the broken one.
    subprocess.run(
        [*GIT, "-C", str(clone), "checkout", "--quiet", "-b", "fixed", visible], check=True
    )
    another = _commit(
        clone,
        "e2e: one more release",
        lambda c: _replace(settings, '"VERSION": "1.0.1-e2e"', '"VERSION": "1.0.2-e2e"'),
    )
    return {"clone": clone, "head": head, "visible": visible, "broken": broken, "another": another}


@pytest.fixture(scope="module")
def cacert(server_cert) -> Path:
    return server_cert


def _deploy_args(revisions, revision: str, *extra: str) -> list[str]:
    """What to ship, and nothing else: the public probe finds the self-signed server by itself."""
    return [
        "-e",
        f"release_build_repo={revisions['clone']}",
        "-e",
        f"release_revision={revision}",
        *extra,
    ]


def _prebuild(provisioned, revisions, revision: str) -> None:
    """Build the artifact before the load starts, as CI would; the deploy then reuses it."""
    python = provisioned.sh("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")
    subprocess.run(
        [
            str(DEPLOY / "scripts/build_release.sh"),
            "--repo",
            str(revisions["clone"]),
            "--rev",
            revision,
            "--python",
            python,
            "--arch",
            "x86_64",
            "--glibc",
            "2.35",
            "--out",
            str(DEPLOY / ".build"),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHON=sys.executable),
    )


def _load(provisioned, cacert) -> HttpsLoad:
    # At least 20 s of load, and a hard stop at 300 s: a deploy takes 40-50 s on an idle machine,
    # several times that when other suites share its two cores.
    return HttpsLoad(
        provisioned.testbed.ip,
        provisioned.server_name,
        str(cacert),
        threads=3,
        rate=100,  # a request every 10 ms: a gap of 10 ms or more in a switch meets one
        min_seconds=20,
        max_seconds=300,
        # A request is an error when it fails, not when a busy machine is slow: the deploy's
        # pip install and compileall share the two cores with nginx and Gunicorn.
        timeout=30,
    )


def _served_revision(provisioned) -> str:
    return provisioned.sh(f"readlink {APP_ROOT}/current").removeprefix("releases/")


def _api_version(client) -> str:
    for _ in range(30):  # the controller's address may still be over its rate (a 429 test)
        schema = client.request(
            "/api/schema/?format=json", headers={"Accept": "application/vnd.oai.openapi+json"}
        )
        if schema.status != 429:
            break
        time.sleep(5)
    assert schema.status == 200, schema.body[:300]
    return schema.json()["info"]["version"]


def _deploy_under_load(provisioned, revisions, cacert, name: str):
    """deploy.yml of revisions[name] (artifact built beforehand) under HTTPS load."""
    _prebuild(provisioned, revisions, revisions[name])
    with _load(provisioned, cacert) as load:
        run = provisioned.run_playbook(
            f"deploy-{name}",
            "deploy.yml",
            _deploy_args(revisions, revisions[name]),
        )
    print("\n" + load.result.summary())
    return run, load.result


def test_deploy_a_new_revision_under_load_with_zero_failures(
    provisioned, revisions, cacert, client
):
    before = _served_revision(provisioned)
    run, result = _deploy_under_load(provisioned, revisions, cacert, "visible")
    assert run.returncode == 0, f"deploy.yml failed, log: {run.log_path}\n{run.tail()}"
    assert result.errors == 0, result.error_samples
    assert result.requests >= 200
    assert _served_revision(provisioned) == revisions["visible"]
    # The load saw the switch happen: old code first, new code last.
    assert result.revisions[0] == before and result.revisions[-1] == revisions["visible"]
    assert _api_version(client) == "1.0.1-e2e"
    # The way back is a named restore point (O(1)), not a dump of the whole database.
    point = re.search(
        rf"Marked restore point (deploy-{revisions['visible'][:12]}-\d{{8}}T\d{{6}}Z)"
        r" \(WAL [0-9A-F]+/[0-9A-F]+\)",
        run.stdout,
    )
    assert point, run.tail()
    assert revisions["visible"] not in provisioned.sh(f"ls {DUMP_DIR} 2>/dev/null || true")


def test_a_release_that_is_not_ready_never_gets_traffic(provisioned, revisions, cacert):
    run, result = _deploy_under_load(provisioned, revisions, cacert, "broken")
    assert run.returncode != 0
    assert "DEPLOY FAILED" in run.stdout
    assert "is not ready" in run.stdout and "e2e broken" in run.stdout
    assert f"Traffic never left {revisions['visible']}" in run.stdout
    assert result.errors == 0, result.error_samples
    assert result.revisions == [revisions["visible"]]
    assert _served_revision(provisioned) == revisions["visible"]
    assert provisioned.sh(f"test -d {APP_ROOT}/shared/deploy.lock || echo unlocked") == "unlocked"


def test_a_release_the_public_url_does_not_serve_is_switched_back(
    provisioned, revisions, cacert, client
):
    """The new code is ready, traffic moves, but the public probe fails (here: a port nothing
    listens on): the deploy switches back and says so, and no request fails meanwhile."""
    serving = _served_revision(provisioned)
    _prebuild(provisioned, revisions, revisions["another"])
    with _load(provisioned, cacert) as load:
        run = provisioned.run_playbook(
            "deploy-unreachable-url",
            "deploy.yml",
            _deploy_args(
                revisions,
                revisions["another"],
                "-e",
                f"release_public_url=https://{provisioned.server_name}:8443",
                "-e",
                "release_public_probe_attempts=1",
            ),
        )
    print("\n" + load.result.summary())
    assert run.returncode != 0
    assert "DEPLOY FAILED at 'Probe the public URL" in run.stdout
    assert f"Switched back to {serving}, which serves again." in run.stdout
    assert load.result.errors == 0, load.result.error_samples
    assert _served_revision(provisioned) == serving
    assert revisions["another"] in load.result.revisions  # traffic did move, then came back
    assert client.request("/healthz").header("x-app-revision") == serving
    releases = provisioned.sh(f"ls {APP_ROOT}/releases").split()
    assert revisions["another"] not in releases


def test_a_concurrent_deploy_is_refused_by_the_lock(provisioned, revisions, cacert):
    first_log = provisioned.log_dir / "deploy-first-of-two.log"
    argv = provisioned.ansible_playbook_argv(
        "deploy.yml", _deploy_args(revisions, revisions["visible"])
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
            _deploy_args(revisions, revisions["visible"]),
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
        "deploy-stale-lock", "deploy.yml", _deploy_args(revisions, revisions["visible"])
    )
    assert refused.returncode != 0
    assert "holder=gone@ci, controller=ci, pid=999999" in refused.stdout
    assert "-e release_break_lock=true" in refused.stdout
    broken = provisioned.run_playbook(
        "deploy-break-lock",
        "deploy.yml",
        _deploy_args(revisions, revisions["visible"], "-e", "release_break_lock=true"),
    )
    assert broken.returncode == 0, f"deploy.yml failed, log: {broken.log_path}\n{broken.tail()}"
    assert provisioned.sh(f"test -d {lock} || echo unlocked") == "unlocked"


def _throttle_the_controller(client) -> int:
    """Use up the anonymous rate of the controller's address on the API; the 429s seen."""
    throttled = 0
    for _ in range(150):
        throttled += client.request("/api/v1/posts/").status == 429
        if throttled >= 5:
            break
    return throttled


def test_rollback_while_throttled_goes_back_with_zero_failures(
    provisioned, revisions, cacert, client
):
    """No extra variables: the probe trusts the self-signed server by itself, and the API's 429
    for the controller's address (its anonymous rate kept used up for the whole rollback)
    counts as "the app is up"."""
    assert _throttle_the_controller(client) >= 5
    keeper_statuses: list[int] = []
    stop = threading.Event()

    def keep_throttled():  # takes every slot of the window that opens, so none is left
        while not stop.is_set():
            keeper_statuses.append(client.request("/api/v1/posts/").status)
            stop.wait(0.3)

    keeper = threading.Thread(target=keep_throttled, daemon=True)
    keeper.start()
    try:
        with _load(provisioned, cacert) as load:
            run = provisioned.run_playbook("rollback", "rollback.yml")
    finally:
        stop.set()
        keeper.join(timeout=60)
    result = load.result
    probe_saw_429 = bool(
        re.search(r"429: throttled for this address, the\s+app answered", run.stdout)
    )
    print(
        "\n" + result.summary() + f"\nthe controller's API answers during the rollback: "
        f"{collections.Counter(keeper_statuses)}; the public probe saw a 429: {probe_saw_429}"
    )
    assert run.returncode == 0, f"rollback.yml failed, log: {run.log_path}\n{run.tail()}"
    assert set(keeper_statuses) <= {200, 429} and keeper_statuses.count(429) > 0
    assert result.errors == 0, result.error_samples
    assert _served_revision(provisioned) == revisions["head"]
    assert result.revisions[-1] == revisions["head"]
    # /healthz is never throttled (the schema, an API view, would be for this address now).
    assert client.request("/healthz").header("x-app-revision") == revisions["head"]


def test_keep_releases_prunes_old_releases_and_their_dumps(provisioned, revisions, cacert, client):
    # The logical pre-migration dump stays an option (release_pre_migration_dump).
    run = provisioned.run_playbook(
        "deploy-another",
        "deploy.yml",
        _deploy_args(
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
    assert _api_version(client) == "1.0.2-e2e"


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


def test_site_yml_keeps_the_serving_release_and_rotates_a_secret(
    provisioned, revisions, cacert, client
):
    """Re-running site.yml (the secret-rotation runbook) ships no code, though the checkout has a
    newer commit, and restarts Gunicorn onto the new SECRET_KEY with no failed request."""
    serving = _served_revision(provisioned)
    user = {"username": f"rotate{int(time.time())}", "password": "a-long-rotation-password-7"}
    api(client, "POST", "/api/v1/auth/register/", user)
    old_token = api(client, "POST", "/api/v1/auth/token/", user)["access"]
    provisioned.rotate_secret("vault_app_secret_key")
    with _load(provisioned, cacert) as load:
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
    assert _served_revision(provisioned) == serving
    # Tokens signed with the old key are refused now: the new key is in use.
    assert client.request("/api/v1/auth/me/", token=old_token).status == 401
    new_token = api(client, "POST", "/api/v1/auth/token/", user)["access"]
    assert api(client, "GET", "/api/v1/auth/me/", token=new_token)["username"] == (user["username"])


def test_restore_drill_restores_the_latest_backup_and_matches_counts_at_its_point(
    provisioned, client
):
    write_posts(client, "drill")
    assert provisioned.sh("systemctl is-enabled board-restore-drill.timer") == "enabled"
    started = time.time()
    run = provisioned.run_playbook("restore-drill", "restore-drill.yml")
    assert run.returncode == 0, f"restore-drill.yml failed, log: {run.log_path}\n{run.tail()}"
    assert "board-restore-drill: OK" in run.stdout
    rows = dict(re.findall(r"(\w+)\s+(\d+)\s+\2'?$", run.stdout, re.M))
    assert int(rows["post"]) >= 3 and int(rows["comment"]) >= 3 and int(rows["post_tags"]) >= 6
    drill = metrics(provisioned, "restore_drill")
    assert drill["board_restore_drill_last_outcome"] == 1
    assert drill["board_restore_drill_last_success_timestamp_seconds"] >= started - 5
    # The throwaway instance and its copy are gone.
    assert provisioned.sh(f"ls {DRILL_DIR}") == ""
    assert provisioned.testbed.ssh(f"ss -ltnx | grep -q {DRILL_PORT}").returncode != 0


def test_restore_names_a_wrong_or_missing_variable(provisioned):
    refused = provisioned.run_playbook("restore-unconfirmed", "restore.yml")
    assert refused.returncode != 0
    assert "Confirm with the database's name" in refused.stdout
    assert "the latest point in the archived WAL" in refused.stdout
    malformed = provisioned.run_playbook(
        "restore-bad-time",
        "restore.yml",
        ["-e", "restore_time=yesterday", "-e", "restore_confirm=board"],
    )
    assert malformed.returncode != 0
    assert "restore_time must be a time with its UTC offset" in malformed.stdout
    assert 'got "yesterday"' in malformed.stdout
    assert provisioned.sh("systemctl is-active gunicorn.socket") == "active"


def test_restore_to_a_named_restore_point(provisioned, client):
    stamp = int(time.time())
    before, after, point = f"before-point-{stamp}", f"after-point-{stamp}", f"e2e-{stamp}"
    psql(provisioned, f"INSERT INTO board_tag (name) VALUES ('{before}')")
    psql(provisioned, f"SELECT pg_create_restore_point('{point}')")
    psql(provisioned, f"INSERT INTO board_tag (name) VALUES ('{after}')")
    run = provisioned.run_playbook(
        "restore", "restore.yml", ["-e", f"restore_point={point}", "-e", "restore_confirm=board"]
    )
    assert run.returncode == 0, f"restore.yml failed, log: {run.log_path}\n{run.tail()}"
    names = psql(provisioned, "SELECT name FROM board_tag").split()
    assert before in names and after not in names
    # The database it replaced is marked with a restore point, named in the output and the log.
    undo = re.search(r"restore point\s+(before-restore-\d{8}T\d{6}Z)", run.stdout)
    assert undo, run.tail()
    log = provisioned.sh(f"tail -n 1 {RESTORE_LOG}")
    assert f'target="the restore point {point}"' in log and f"undo_point={undo.group(1)}" in log
    assert re.search(r'replaced="[^"]+ at \d{4}-', log), log
    # The runtime role still has its privileges on the restored tables, and the API answers.
    assert_ready_after_restore(client)
    assert client.request("/api/v1/posts/").status == 200


def test_no_secret_in_the_journal_logs_or_process_table(provisioned):
    """After site, deploys, rollback, rotation and restore: no vault value (current or rotated
    away) in the journal, under /var/log, or in any process's command line."""
    values = sorted(set(provisioned.secrets.values()) | set(provisioned.retired_secrets))
    patterns = "\n".join(values)
    # The values travel to the server on stdin, never on a command line of their own.
    grep = provisioned.testbed.ssh(
        "f=$(mktemp) && cat > $f && "
        "{ journalctl --no-pager -o cat | grep -c -F -f $f; "
        "grep -r -l -F -f $f /var/log 2>/dev/null; "
        "ps -eo args | grep -v grep | grep -c -F -f $f; rm -f $f; }",
        input=patterns,
    )
    lines = grep.stdout.split()
    print(f"\nvault values searched: {len(values)}; journal hits, files, process hits: {lines}")
    assert lines[0] == "0", "a secret is in the journal"
    assert lines[-1] == "0", "a secret is in a process command line"
    assert lines[1:-1] == [], f"a secret is in {lines[1:-1]}"


def test_migrations_run_as_their_own_user_with_credentials_the_app_cannot_read(provisioned):
    for name in (".env", "migrate.env", "superuser.env"):
        assert provisioned.sh(f"stat -c '%a %U %G' {APP_ROOT}/shared/{name}") == "600 root root"
        denied = provisioned.testbed.ssh(f"runuser -u board -- cat {APP_ROOT}/shared/{name}")
        assert denied.returncode != 0
    # The owner role's password is only in migrate.env; the runtime settings do not have it.
    owner = provisioned.secrets["vault_postgresql_owner_password"]
    found = provisioned.testbed.ssh(
        f"grep -l -F -f - {APP_ROOT}/shared/.env {APP_ROOT}/shared/migrate.env", input=owner
    )
    assert found.stdout.split() == [f"{APP_ROOT}/shared/migrate.env"]
    # board-manage (what deploys run) gives migrations their own Unix user and the owner role.
    who = (
        "import getpass; from django.db import connection; "
        "print(getpass.getuser(), connection.settings_dict['USER'])"
    )
    assert provisioned.sh(f'board-manage --as migrate -- shell --no-imports -c "{who}"') == (
        "board-migrate board_owner"
    )
    assert (
        provisioned.sh(f'board-manage --as app -- shell --no-imports -c "{who}"')
        == "board board_app"
    )
    assert "board" not in provisioned.sh("id -Gn board-migrate").split()[1:]
