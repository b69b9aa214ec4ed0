"""Off-host copies of the nightly dumps leave the server encrypted, or not at all."""

from __future__ import annotations

import json

import pytest

from .roles import role_default
from .textfile_metrics import read_metrics

pytestmark = pytest.mark.releases

BACKUP_DIR = role_default("backup", "backup_dir")
OFFSITE = f"{BACKUP_DIR}/offsite-e2e"  # a local rsync target the backup unit may write


def _site_backup(provisioned, label: str, **extra):
    return provisioned.run_playbook(
        label,
        "site.yml",
        ["--tags", "backup", "-e", json.dumps(extra)] if extra else ["--tags", "backup"],
    )


def test_an_off_host_copy_without_a_public_key_is_refused(provisioned):
    run = _site_backup(provisioned, "backup-unencrypted", backup_rsync_target=f"{OFFSITE}/")
    assert run.returncode != 0
    assert "set backup_offsite_recipients to the age" in run.stdout


def test_off_host_copies_are_encrypted_to_the_inventory_key(provisioned):
    # The private key stays outside the backup's reach (here: root's home on the test host).
    recipient = provisioned.sh(
        "install -d -m 0700 /root/offsite && "
        "{ test -f /root/offsite/key || age-keygen -o /root/offsite/key 2>/dev/null; } && "
        "age-keygen -y /root/offsite/key"
    )
    provisioned.sh(f"install -d -o postgres -g postgres -m 0700 {OFFSITE}")
    run = _site_backup(
        provisioned,
        "backup-encrypted",
        backup_rsync_target=f"{OFFSITE}/",
        backup_offsite_recipients=[recipient],
    )
    assert run.returncode == 0, f"site.yml failed, log: {run.log_path}\n{run.tail()}"
    try:
        provisioned.sh("systemctl start board-backup.service")
        copy = provisioned.sh(f"ls -1t {OFFSITE}/*.pgc.age | head -n1")
        assert provisioned.sh(f"stat -c '%a %U' {copy}") == "600 postgres"
        # Not a pg_dump archive as it sits there (custom format starts with PGDMP) ...
        assert provisioned.sh(f"head -c 5 {copy}") != "PGDMP"
        assert provisioned.sh(f"head -c 21 {copy}") == "age-encryption.org/v1"
        # ... but the private key turns it back into one.
        tables = provisioned.sh(
            f"age --decrypt -i /root/offsite/key {copy} | pg_restore --list | grep -c 'TABLE DATA'"
        )
        assert int(tables) > 0
        # The encrypted file is not left beside the local dumps.
        assert provisioned.sh(f"ls {BACKUP_DIR}/*.age 2>/dev/null | wc -l") == "0"
    finally:
        restored = _site_backup(provisioned, "backup-default")
        assert restored.returncode == 0, restored.tail()


def test_the_backup_records_success_and_failure_for_the_node_exporter(provisioned):
    provisioned.sh("systemctl start board-backup.service")
    run = read_metrics(provisioned, "board_backup_run.prom")
    success = read_metrics(provisioned, "board_backup_success.prom")
    assert run["board_backup_last_outcome"] == ({}, 1)
    ok_at = success["board_backup_last_success_timestamp_seconds"][1]
    assert ok_at == run["board_backup_last_run_timestamp_seconds"][1]

    # A dump that cannot be written: the unit fails, its ExecStopPost= still records the run.
    provisioned.sh(f"chmod 0500 {BACKUP_DIR}")
    try:
        failed = provisioned.testbed.ssh("systemctl start board-backup.service")
        assert failed.returncode != 0
        assert provisioned.sh("systemctl is-failed board-backup.service || true") == "failed"
        run = read_metrics(provisioned, "board_backup_run.prom")
        assert run["board_backup_last_outcome"] == ({}, 0)
        assert run["board_backup_last_run_timestamp_seconds"][1] >= ok_at
        success = read_metrics(provisioned, "board_backup_success.prom")
        assert success["board_backup_last_success_timestamp_seconds"][1] == ok_at
    finally:
        provisioned.sh(f"chmod 0700 {BACKUP_DIR} && systemctl reset-failed board-backup.service")
    provisioned.sh("systemctl start board-backup.service")
    assert read_metrics(provisioned, "board_backup_run.prom")["board_backup_last_outcome"][1] == 1
