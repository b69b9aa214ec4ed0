"""pgBackRest on the database server: an encrypted repository, backups and WAL archiving whose
outcomes are metrics (failures included), and a passphrase that only the vault holds."""

from __future__ import annotations

import json
import time

import pytest

from .backups import CONFIG, REPO_PATH, STANZA, metrics, pgbackrest, write_posts

pytestmark = pytest.mark.releases


def test_the_repository_is_encrypted_with_the_vault_passphrase(provisioned):
    # Only root and postgres read the configuration that holds the passphrase.
    assert provisioned.sh(f"stat -c '%a %U %G' {CONFIG}") == "640 root postgres"
    passphrase = provisioned.secrets["vault_backup_repo_cipher_pass"]
    assert f"repo1-cipher-pass={passphrase}" in provisioned.sh(f"cat {CONFIG}").splitlines()
    info = json.loads(pgbackrest(provisioned, "--output=json info"))[0]
    assert info["status"]["message"] == "ok", info
    assert info["cipher"] == "aes-256-cbc"
    # Files in the repository are OpenSSL-encrypted, not readable pgBackRest text.
    header = provisioned.sh(f"head -c 8 {REPO_PATH}/backup/{STANZA}/backup.info")
    assert header == "Salted__"


def test_a_missing_passphrase_is_refused_by_name(provisioned):
    run = provisioned.run_playbook(
        "backup-no-passphrase",
        "site.yml",
        ["--tags", "backup", "-e", "vault_backup_repo_cipher_pass=CHANGE_ME"],
    )
    assert run.returncode != 0
    assert "vault_backup_repo_cipher_pass" in run.stdout
    assert "CHANGE_ME" not in provisioned.sh(f"cat {CONFIG}")


def test_backup_timers_run_backups_and_record_their_outcome(provisioned, client):
    write_posts(client, "backup")
    for timer in ("full", "diff"):
        assert provisioned.sh(f"systemctl is-enabled board-backup-{timer}.timer") == "enabled"
        assert provisioned.sh(f"systemctl is-active board-backup-{timer}.timer") == "active"
    assert provisioned.sh("systemctl show -p TimeoutStartUSec --value board-backup@diff.service")
    started = time.time()
    provisioned.sh("systemctl start board-backup@diff.service")
    info = json.loads(pgbackrest(provisioned, "--output=json info"))[0]
    assert [b["type"] for b in info["backup"]][:1] == ["full"]
    assert info["backup"][-1]["type"] == "diff"
    ok = metrics(provisioned, "backup")
    assert ok["board_backup_last_outcome"] == 1
    assert ok["board_backup_last_success_timestamp_seconds"] >= started - 5

    # A backup that fails (here: a type pgBackRest refuses) is recorded as failed; the last
    # success stays what it was.
    failed = provisioned.testbed.ssh("systemctl start board-backup@nonsense.service")
    assert failed.returncode != 0
    after = metrics(provisioned, "backup")
    assert after["board_backup_last_outcome"] == 0
    assert (
        after["board_backup_last_success_timestamp_seconds"]
        == (ok["board_backup_last_success_timestamp_seconds"])
    )
    assert (
        after["board_backup_last_run_timestamp_seconds"]
        >= ok["board_backup_last_run_timestamp_seconds"]
    )


def test_wal_archiving_is_measured(provisioned):
    provisioned.sh("systemctl start board-archive-metrics.service")
    wal = metrics(provisioned, "wal_archive")
    print(f"\nWAL archive metrics: {wal}")
    assert wal["board_wal_archive_up"] == 1
    assert wal["board_wal_archive_last_success_timestamp_seconds"] > 0
    assert wal["board_wal_archive_failures_total"] == 0
    assert provisioned.sh("systemctl is-active board-archive-metrics.timer") == "active"
    settings = provisioned.sh(
        "runuser -u postgres -- psql -XAtq -c 'SHOW archive_mode' -c 'SHOW archive_timeout'"
    ).split()
    assert settings[0] == "on" and settings[1] != "0"
