"""Helpers for the pgBackRest tests: the role's names, its metrics, rows written via the API."""

from __future__ import annotations

import time

from support.roles import role_default
from support.textfile_metrics import TEXTFILE_DIR, read_metrics

STANZA = role_default("backup", "backup_stanza")
REPO_PATH = role_default("backup", "backup_repo_path")
CONFIG = "/etc/pgbackrest/pgbackrest.conf"
RESTORE_LOG = role_default("release", "release_restore_log")


def pgbackrest(provisioned, args: str) -> str:
    """pgBackRest on the server as postgres (it reads its configuration itself)."""
    return provisioned.sh(f"runuser -u postgres -- pgbackrest --stanza={STANZA} {args}")


def metrics(provisioned, job: str) -> dict[str, float]:
    """{name: value} of what a job left in the textfile directory: board_<job>.prom (the WAL
    archive's), or board-job-result's board_<job>_run.prom and, once it succeeded,
    board_<job>_success.prom."""
    files = provisioned.sh(
        f"cd {TEXTFILE_DIR} && ls board_{job}.prom board_{job}_run.prom board_{job}_success.prom"
        " 2>/dev/null || true"
    ).split()
    assert files, f"no textfile metrics for {job} in {TEXTFILE_DIR}"
    return {
        name: value
        for file in files
        for name, (_, value) in read_metrics(provisioned, file).items()
    }


def psql(provisioned, sql: str, database: str = "board") -> str:
    """One SQL statement as postgres over the socket; unaligned, tuples only."""
    return provisioned.sh(
        f"runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d {database}", input=sql
    )


def write_posts(client, label: str, count: int = 3) -> None:
    """A user, `count` posts with two tags each and a comment each, through the public API."""
    user = {"username": f"{label}{int(time.time())}", "password": "a-long-backup-password-7"}
    api(client, "POST", "/api/v1/auth/register/", user)
    token = api(client, "POST", "/api/v1/auth/token/", user)["access"]
    for i in range(count):
        body = {"title": f"{label} {i}", "content": "x", "tags": [label, f"t{i}"]}
        post = api(client, "POST", "/api/v1/posts/", body, token)
        api(client, "POST", f"/api/v1/posts/{post['id']}/comments/", {"content": "kept"}, token)


def api(client, method: str, path: str, body: dict | None = None, token: str = "") -> dict:
    for _ in range(30):  # the controller's address may still be over its rate (a 429 test)
        response = client.request(path, method=method, json_body=body, token=token or None)
        if response.status != 429:
            break
        time.sleep(5)
    assert 200 <= response.status < 300, (path, response.status, response.body[:300])
    return response.json() if response.body else {}


def assert_ready_after_restore(client, seconds: int = 30) -> None:
    """/readyz answers 200 within `seconds` of restore.yml's end (Gunicorn is started again)."""
    for _ in range(seconds):
        if client.request("/readyz").status == 200:
            return
        time.sleep(1)
    raise AssertionError(f"/readyz did not answer 200 within {seconds} s of the restore")
