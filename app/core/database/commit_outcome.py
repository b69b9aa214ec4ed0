"""What became of a transaction whose COMMIT lost its session: PostgreSQL's pg_xact_status.

A COMMIT sent as the server shuts down (a switchover's fast shutdown ends every session, one
waiting for its synchronous standby included) or dies may have been applied or not, and the lost
session cannot say which. PostgreSQL answers for a transaction ID (pg_xact_status) on a server
whose history holds the transaction's writes: the same server, or the standby promoted from it if
it had replayed them. So before the COMMIT of a transaction that wrote (only those have an ID),
the backend notes, in one query, the ID, where the transaction's WAL ends, the timeline, and where
the server's last recovery ended (pg_last_wal_replay_lsn(): its promotion or crash recovery, NULL
if it started without one). After a lost COMMIT it asks the server it reconnects to:

- the same timeline and the same last recovery, or none (the session was ended, or the server
  shut down cleanly and came back): the transaction's writes are in its history;
- the same timeline after a crash recovery since, or the next timeline (a standby promoted when
  the primary stopped or died): they are in its history if that recovery replayed past where they
  ended; if it did not, the transaction is not in this history (its COMMIT record came after);
- anything else (a server still in recovery, two promotions, a promoted server restarted since):
  unknown, so the request keeps its 503.

In the history, pg_xact_status says committed or aborted (a transaction cut before its COMMIT
record is aborted there). The ID is safe to ask about only there: a promoted standby that never
saw the transaction hands the same ID to its own next transactions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from psycopg2.extensions import TRANSACTION_STATUS_INTRANS


class Outcome(enum.Enum):
    COMMITTED = "committed"  # the server has it: the request goes on
    NOT_APPLIED = "not applied"  # the server's history has none of it: safe to run again
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PendingCommit:
    xid: str  # the transaction's ID (xid8, as text)
    wal_end: str  # where its WAL ended before the COMMIT (pg_lsn, as text)
    timeline: int
    recovery_end: str | None  # where the server's last recovery ended (pg_lsn), None: none


# pg_walfile_name's first eight hex digits are the timeline the server writes on.
BEFORE_COMMIT_SQL = (
    "SELECT pg_current_xact_id_if_assigned()::text, pg_current_wal_insert_lsn()::text,"
    " pg_walfile_name(pg_current_wal_lsn()), pg_last_wal_replay_lsn()::text"
)
# A server still in recovery has no timeline of its own to write on (pg_current_wal_lsn() would
# fail there).
HISTORY_SQL = (
    "SELECT pg_is_in_recovery(),"
    " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END,"
    " pg_last_wal_replay_lsn()::text, pg_last_wal_replay_lsn() >= %s::pg_lsn"
)
STATUS_SQL = "SELECT pg_xact_status(%s::xid8)"


def _timeline(walfile: str) -> int:
    return int(walfile[:8], 16)


def pending_commit(raw_connection) -> PendingCommit | None:
    """What to ask about the transaction on `raw_connection` if its COMMIT is lost; None when it
    has written nothing (a lost COMMIT of it loses nothing) or failed (its COMMIT rolls back)."""
    if raw_connection.info.transaction_status != TRANSACTION_STATUS_INTRANS:
        return None
    with raw_connection.cursor() as cursor:
        cursor.execute(BEFORE_COMMIT_SQL)
        xid, wal_end, walfile, recovery_end = cursor.fetchone()
    return None if xid is None else PendingCommit(xid, wal_end, _timeline(walfile), recovery_end)


def outcome(raw_connection, pending: PendingCommit) -> Outcome:
    """The fate of `pending`, asked of the server `raw_connection` (a new session) reaches."""
    with raw_connection.cursor() as cursor:
        cursor.execute(HISTORY_SQL, [pending.wal_end])
        in_recovery, walfile, recovery_end, replayed_past_it = cursor.fetchone()
        if in_recovery:
            return Outcome.UNKNOWN
        timeline = _timeline(walfile)
        if timeline != pending.timeline or recovery_end not in (None, pending.recovery_end):
            # A recovery since the note: a crash's on the same timeline, a promotion's onto the
            # next one. Without it (a clean restart since), the server wrote them itself.
            if recovery_end is None or timeline not in (pending.timeline, pending.timeline + 1):
                return Outcome.UNKNOWN
            if not replayed_past_it:
                return Outcome.NOT_APPLIED
        cursor.execute(STATUS_SQL, [pending.xid])
        status = cursor.fetchone()[0]
    return {"committed": Outcome.COMMITTED, "aborted": Outcome.NOT_APPLIED}.get(
        status, Outcome.UNKNOWN
    )
