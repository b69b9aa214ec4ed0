"""The locked-migration drill: a release whose migration needs a lock that another transaction
holds fails within the owner role's lock_timeout, instead of queueing behind that transaction
(and every request behind itself); the deploy fails, the release that served keeps serving, and
the HTTPS load sees no failed request.

It runs after test_deploy.py (support/ordering.py), from the release that module left serving;
the migration never applies, so the modules after it find the database as it was.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import time

import pytest
from support.least_privilege import DB, OWNER
from support.releases import LOCKING_MIGRATION, LOCKING_TABLE, prebuild
from support.roles import role_default

from .releases import deploy_under_load, served_revision

pytestmark = pytest.mark.releases

# Seconds between two looks at pg_locks from the server (the figure's resolution).
POLL = 0.2
HOLDER = "e2e-lock-holder"
STOP = "/run/e2e-migration-lock.stop"  # root's: the watch ends when it appears
# How long the holder keeps its transaction open at most (it ends when the deploy has): far
# beyond the owner role's lock_timeout and the deploy's steps before its migrations on a busy
# machine, and bounded, so that a migration without lock_timeout (one that waits for the holder)
# gets through and the deploy succeeds, which the test refuses.
HOLD_SECONDS = 300

# Run on the server as postgres: a session reads the table in a transaction it keeps open (a long
# report, say), then each POLL a line "<unix time> <locks the holder has> <lock requests of the
# owner role that wait>" until the stop file appears; then the holder's session ends.
WATCH = f"""
set -u
stop={STOP}
PGAPPNAME={HOLDER} psql -XAtq -v ON_ERROR_STOP=1 -d {DB} >/dev/null <<'SQL' &
BEGIN;
SELECT count(*) FROM {LOCKING_TABLE};
SELECT pg_sleep({HOLD_SECONDS});
SQL
for _ in $(seq {int(HOLD_SECONDS / POLL)}); do
    [ -e "$stop" ] && break
    row=$(psql -XAtq -F' ' -d {DB} -c "
        SELECT count(*) FILTER (WHERE a.application_name = '{HOLDER}' AND l.granted),
               count(*) FILTER (WHERE a.usename = '{OWNER}' AND NOT l.granted)
        FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE l.relation = '{LOCKING_TABLE}'::regclass")
    echo "$(date +%s.%N) $row"
    sleep {POLL}
done
psql -XAtq -d {DB} -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                       WHERE application_name = '{HOLDER}'" >/dev/null
wait
"""


class LockWatch:
    """The holder's session and the watch on the server, read line by line."""

    def __init__(self, provisioned):
        self.provisioned = provisioned
        provisioned.sh(f"rm -f {STOP}")
        self.rows: list[tuple[float, int, int]] = []
        self.proc = subprocess.Popen(
            provisioned.testbed.ssh_argv(f"cd / && sudo -u postgres bash -c {shlex.quote(WATCH)}"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            fields = line.split()
            if len(fields) == 3:
                self.rows.append((float(fields[0]), int(fields[1]), int(fields[2])))

    def wait_held(self) -> None:
        for _ in range(300):
            if self.rows and self.rows[-1][1] > 0:
                return
            time.sleep(0.1)
        pytest.fail(f"the holder never held {LOCKING_TABLE}: {self.rows[-5:]}")

    def stop(self) -> None:
        self.provisioned.sh(f"touch {STOP}")
        self.proc.wait(timeout=60)
        self.reader.join(timeout=10)

    def waited(self) -> tuple[float, bool]:
        """Seconds the owner role's lock request waited (first to last row that saw it wait,
        plus one poll), and whether the holder still held the table at the last such row and
        after it (the migration gave up; it was not let through)."""
        waiting = [i for i, row in enumerate(self.rows) if row[2] > 0]
        assert waiting, f"no migration ever waited for {LOCKING_TABLE}"
        first, last = waiting[0], waiting[-1]
        held = all(row[1] > 0 for row in self.rows[first:])
        return self.rows[last][0] - self.rows[first][0] + POLL, held


def test_a_migration_that_waits_for_a_lock_gives_up_and_the_release_keeps_serving(
    provisioned, revisions, cacert
):
    serving = served_revision(provisioned)
    lock_timeout = role_default("postgresql", "postgresql_owner_lock_timeout")
    prebuild(provisioned, revisions, revisions["locking"])  # before the lock: reused below
    watch = LockWatch(provisioned)
    try:
        watch.wait_held()
        run, result = deploy_under_load(provisioned, revisions, cacert, "locking")
    finally:
        watch.stop()
    seconds, held = watch.waited()
    print(
        f"the migration waited {seconds:.1f} s for its lock on {LOCKING_TABLE} (the owner "
        f"role's lock_timeout: {lock_timeout}); the holder kept the table meanwhile: {held}; "
        f"load: {result.requests} requests, {result.errors} errors"
    )
    assert run.returncode != 0
    assert "DEPLOY FAILED at 'Apply the database migrations as the schema owner'" in run.stdout
    assert "canceling statement due to lock timeout" in run.stdout
    assert f"Traffic never left {serving}." in run.stdout
    assert held, "the holder's transaction ended before the migration gave up"
    assert result.errors == 0, result.error_samples
    assert result.revisions == [serving]
    assert served_revision(provisioned) == serving
    applied = provisioned.sh(
        f"cd / && sudo -u postgres psql -XAtq -d {DB} -c "
        + shlex.quote(
            "SELECT count(*) FROM django_migrations "
            f"WHERE app = 'board' AND name = '{LOCKING_MIGRATION}'"
        )
    )
    assert applied == "0"
