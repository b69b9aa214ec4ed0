"""restore-drill.yml and restore.yml on the provisioned host: the drill restores the latest
backup into a throwaway instance; restore.yml names a wrong or missing variable, and restores the
database to a named restore point (the backups themselves: test_backups.py).

It runs after test_site_rerun.py (support/ordering.py), on the database the releases left.
"""

from __future__ import annotations

import re
import time

import pytest
from support.roles import role_default

from .backups import RESTORE_LOG, assert_ready_after_restore, metrics, psql, write_posts

pytestmark = pytest.mark.releases

DRILL_DIR = role_default("backup", "backup_drill_dir")
DRILL_PORT = role_default("backup", "backup_drill_port")


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
