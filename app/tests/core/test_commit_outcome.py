"""core.database.commit_outcome: what a transaction whose COMMIT was lost became, asked of real
PostgreSQL (the same server: timeline 1, never in recovery)."""

import contextlib

import pytest
from django.db import DatabaseError, connection, transaction

from board.models import Tag
from core.database import commit_outcome
from core.database.commit_outcome import Outcome
from tests.database import other_connection

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def _noted_then(finish) -> commit_outcome.PendingCommit | None:
    """The note taken on the transaction as it stands, then `finish` (commit or rollback)."""
    connection.set_autocommit(False)
    try:
        Tag.objects.create(name=f"t{Tag.objects.count()}")
        pending = commit_outcome.pending_commit(connection.connection)
        finish()
    finally:
        connection.set_autocommit(True)
    return pending


def test_a_transaction_that_wrote_is_noted_with_its_id_wal_and_timeline():
    pending = _noted_then(connection.commit)
    assert pending is not None
    assert int(pending.xid) > 0
    assert "/" in pending.wal_end
    assert pending.timeline == 1
    assert pending.recovery_end is None  # the test server started without a recovery


def test_a_transaction_that_only_read_or_failed_is_not_noted():
    with transaction.atomic():
        Tag.objects.count()
        assert commit_outcome.pending_commit(connection.connection) is None
    with transaction.atomic():
        Tag.objects.create(name="rolled back")
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
        assert commit_outcome.pending_commit(connection.connection) is None
        # Its COMMIT rolls back, as PostgreSQL answers a failed transaction's: no error.
    assert not Tag.objects.exists()


def test_the_server_tells_a_committed_transaction_from_a_rolled_back_one():
    committed = _noted_then(connection.commit)
    rolled_back = _noted_then(connection.rollback)
    with other_connection() as other:
        assert commit_outcome.outcome(other.connection, committed) is Outcome.COMMITTED
        assert commit_outcome.outcome(other.connection, rolled_back) is Outcome.NOT_APPLIED


def test_a_transaction_of_another_timeline_is_unknown():
    """A server two promotions on, or on a history before the transaction's: not asked."""
    pending = _noted_then(connection.commit)
    with other_connection() as other:
        for timeline in (pending.timeline + 2, pending.timeline - 1):
            moved = commit_outcome.PendingCommit(
                pending.xid, pending.wal_end, timeline, pending.recovery_end
            )
            assert commit_outcome.outcome(other.connection, moved) is Outcome.UNKNOWN
