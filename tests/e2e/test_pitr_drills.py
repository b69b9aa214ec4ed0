"""Point-in-time recovery drills on the single test server. Destructive, so they run last
(marker `drills`); each ends with restore.yml, which starts the service again. Each prints its
figure.

RPO: a writer commits a row every 100 ms with its commit time; PostgreSQL is killed (-9) at a
random moment and its data directory deleted; restore.yml brings back the latest point. Figure:
seconds of acknowledged commits lost (goal: at most 60; the test inventory's archive_timeout is 10).

PITR: a time T is noted, a destructive DELETE runs, restore.yml restores to T: every table's
rows hash as they did at T.
"""

from __future__ import annotations

import random
import time

import pytest

from .backups import assert_ready_after_restore, psql, write_posts

pytestmark = pytest.mark.drills

WRITER = """
import sys, time, psycopg2
conn = psycopg2.connect(dbname="rpo_drill")
conn.autocommit = True
cur = conn.cursor()
while True:
    cur.execute("INSERT INTO probe (committed_at) VALUES (clock_timestamp()) RETURNING id")
    row_id = cur.fetchone()[0]
    # Acknowledged: the commit returned. The time is the server's clock (same host).
    print(row_id, time.time(), flush=True)
    time.sleep(0.1)
"""

# Every table of the app's schema as one md5 of its rows in a fixed order.
TABLE_HASHES = """
SELECT c.relname || ' ' || (xpath('/row/h/text()',
    query_to_xml(format('SELECT md5(coalesce(string_agg(t::text, '','' ORDER BY t::text), ''''))
                         AS h FROM public.%I t', c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname
"""


def _restore(provisioned, label: str, *extra: str):
    started = time.monotonic()
    run = provisioned.run_playbook(label, "restore.yml", ["-e", "restore_confirm=board", *extra])
    elapsed = time.monotonic() - started
    assert run.returncode == 0, f"restore.yml failed, log: {run.log_path}\n{run.tail()}"
    return run, elapsed


def _hashes(provisioned) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in psql(provisioned, TABLE_HASHES).splitlines())


def test_pitr_restores_every_row_as_it_was_before_a_destructive_delete(provisioned, client):
    write_posts(client, "pitr")
    time.sleep(1)
    target = psql(
        provisioned,
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS') || '+00'",
    )
    at_target = _hashes(provisioned)
    comments = int(psql(provisioned, "SELECT count(*) FROM comment"))
    assert comments >= 3
    time.sleep(1)
    deleted = psql(
        provisioned, "WITH d AS (DELETE FROM comment RETURNING 1) SELECT count(*) FROM d"
    )
    assert int(deleted) == comments and _hashes(provisioned) != at_target

    run, elapsed = _restore(provisioned, "restore-pitr", "-e", f"restore_time={target}")
    after = _hashes(provisioned)
    print(f"\nPITR: restored to {target} in {elapsed:.0f} s (restore.yml); {len(after)} tables")
    assert after == at_target
    assert int(psql(provisioned, "SELECT count(*) FROM comment")) == comments
    assert client.request("/api/v1/posts/").status == 200


def test_rpo_of_a_lost_data_directory_is_the_archive_timeout(provisioned, client):
    provisioned.sh("cd / && runuser -u postgres -- dropdb --if-exists rpo_drill")
    provisioned.sh("cd / && runuser -u postgres -- createdb rpo_drill")
    psql(
        provisioned,
        "CREATE TABLE probe (id bigserial PRIMARY KEY, committed_at timestamptz NOT NULL)",
        database="rpo_drill",
    )
    # The writer runs as postgres (peer authentication); its acknowledgements go to root's file.
    provisioned.sh("install -m 0644 /dev/stdin /var/tmp/rpo_writer.py", input=WRITER)
    provisioned.sh(
        "setsid runuser -u postgres -- python3 /var/tmp/rpo_writer.py "
        "> /root/rpo_acks.log 2>/root/rpo_writer.err < /dev/null & echo started"
    )
    pause = random.uniform(20, 40)
    time.sleep(pause)
    data_dir = provisioned.sh("runuser -u postgres -- psql -XAtq -c 'SHOW data_directory'")
    # The loss: every PostgreSQL process killed at once, then its data directory deleted.
    provisioned.sh(
        f"pid=$(head -n1 {data_dir}/postmaster.pid) && kill -9 $pid $(pgrep -P $pid) && "
        f"rm -rf --one-file-system {data_dir}"
    )
    lost_at = time.time()
    time.sleep(2)  # the writer notices and stops
    acks = [line.split() for line in provisioned.sh("cat /root/rpo_acks.log").splitlines()]
    assert len(acks) > 50, acks[-3:]
    last_id, last_ack = int(acks[-1][0]), float(acks[-1][1])

    run, elapsed = _restore(provisioned, "restore-rpo")
    restored = psql(
        provisioned,
        "SELECT count(*), coalesce(max(id), 0), extract(epoch FROM max(committed_at)) FROM probe",
        database="rpo_drill",
    ).split("|")
    count, max_id, newest = int(restored[0]), int(restored[1]), float(restored[2] or 0)
    lost_seconds = max(0.0, last_ack - newest)
    print(
        f"\nRPO: killed after {pause:.0f} s of writes; {last_id} commits acknowledged, "
        f"{max_id} restored, {last_id - max_id} lost = {lost_seconds:.1f} s of acknowledged "
        f"commits (goal <= 60 s); restore.yml took {elapsed:.0f} s "
        f"({time.time() - lost_at:.0f} s from the loss to writes accepted)"
    )
    # Nothing restored that was never acknowledged, and no hole: a prefix of the commits.
    assert count == max_id and max_id <= last_id
    assert lost_seconds <= 60
    assert_ready_after_restore(client)
