"""Point-in-time recovery drill on the single test server. Destructive, so it runs last
(marker `drills`) and ends with restore.yml, which starts the service again.

PITR: a time T is noted, a destructive DELETE runs, restore.yml restores to T: every table's
rows hash as they did at T.
"""

from __future__ import annotations

import time

import pytest

from .backups import psql, write_posts

pytestmark = pytest.mark.drills

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
