"""Django's PostgreSQL backend, with a bounded wait for a server that takes writes.

During a Patroni switchover or failover there is a second or more in which no database server
accepts a read-write connection (the old primary has stopped, the new one is still promoting), and
libpq's host list (``target_session_attrs=read-write``) finds none. Opening a connection sends no
statement, so trying again is always safe: a request that needs a new connection in that window
waits (``DATABASE_CONNECT_RETRY_SECONDS``) instead of failing. 0 (the default, one server) keeps
Django's behaviour: the first failure is raised.

It also tells core.request_retry what a request has written: a COMMIT of a transaction that
wrote, a statement other than a SELECT outside a transaction (autocommit applies it), and a
statement that failed because the session ended (tagged on the error), so a request cut by a
switchover before it committed anything runs a second time instead of answering 503. A COMMIT
whose session ended before its answer is looked up on the next session's server
(core.database.commit_outcome): committed, the request goes on on that session; not applied, the
request may run again; unknown, it answers 503. That costs one query before each COMMIT of a
transaction that wrote, sent on the driver's connection (Django's query counts do not see it).
"""

from __future__ import annotations

import contextlib
import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.backends.postgresql import base

from core import request_retry
from core.database import commit_outcome
from core.logging import first_line
from core.metrics import LOST_COMMITS

logger = logging.getLogger(__name__)

RETRY_INTERVAL = 0.5  # seconds between two attempts
# SQLSTATEs of a session the server ended: connection exceptions (class 08), admin_shutdown (a
# fast or immediate shutdown, pg_terminate_backend) and crash_shutdown.
SESSION_ENDED_SQLSTATES = ("08", "57P01", "57P02")


def _session_ended(connection, exc: DatabaseError) -> bool:
    raw = connection.connection
    if raw is None or raw.closed:  # psycopg2 marks a connection it found broken
        return True
    return (getattr(exc.__cause__, "pgcode", None) or "").startswith(SESSION_ENDED_SQLSTATES)


def _tag_if_session_ended(connection, exc: DatabaseError) -> None:
    if _session_ended(connection, exc):
        setattr(exc, request_retry.SESSION_ENDED, True)


def _watch_for_request_retry(execute, sql, params, many, context):
    connection = context["connection"]
    if not connection.in_atomic_block and sql.lstrip()[:6].upper() != "SELECT":
        request_retry.mark_committed()
    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        _tag_if_session_ended(connection, exc)
        raise


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The outermost wrapper, for the wrapper's life (connection.execute_wrapper() adds more).
        self.execute_wrappers.append(_watch_for_request_retry)

    def _commit(self):
        if self.connection is None:
            return super()._commit()
        try:
            with self.wrap_database_errors:
                pending = commit_outcome.pending_commit(self.connection)
        except DatabaseError as exc:
            _tag_if_session_ended(self, exc)  # nothing sent that could commit: may run again
            raise
        try:
            result = super()._commit()
        except DatabaseError as exc:
            if pending is None:
                _tag_if_session_ended(self, exc)  # a read-only transaction's: nothing lost
            elif _session_ended(self, exc):
                return self._after_a_lost_commit(pending, exc)
            else:
                request_retry.mark_committed()
            raise
        if pending is not None:
            request_retry.mark_committed()
        return result

    def _after_a_lost_commit(self, pending: commit_outcome.PendingCommit, exc: DatabaseError):
        """Carries on if the server the next session reaches has the transaction committed;
        raises `exc` otherwise, as a session that ended (run again) if it has none of it."""
        hooks = self.run_on_commit  # connect() forgets them; the transaction is theirs
        with contextlib.suppress(Exception):
            self.connection.close()
        try:
            with self.wrap_database_errors:
                self.connect()  # waits for a primary as any new connection does
                found = commit_outcome.outcome(self.connection, pending)
        except DatabaseError as error:
            logger.warning("the fate of a lost COMMIT could not be asked: %s", first_line(error))
            found = commit_outcome.Outcome.UNKNOWN
        self.run_on_commit = hooks
        LOST_COMMITS.labels(outcome=found.value).inc()
        logger.warning(
            "a COMMIT lost its session (%s); the server reached next has the transaction %s",
            first_line(exc),
            found.value,
        )
        if found is commit_outcome.Outcome.NOT_APPLIED:
            setattr(exc, request_retry.SESSION_ENDED, True)
            raise exc
        request_retry.mark_committed()
        if found is commit_outcome.Outcome.UNKNOWN:
            raise exc
        return None

    def get_new_connection(self, conn_params):
        budget = settings.DATABASE_CONNECT_RETRY_SECONDS
        deadline = time.monotonic() + budget
        attempt = 1
        while True:
            try:
                return super().get_new_connection(conn_params)
            except base.Database.OperationalError as exc:
                # At least one more attempt once a budget is set, however slow the first was.
                if budget <= 0 or (attempt > 1 and time.monotonic() >= deadline):
                    raise
                logger.warning(
                    "database connection failed (attempt %d), trying again for up to %s s: %s",
                    attempt,
                    budget,
                    first_line(exc),
                )
                attempt += 1
                time.sleep(RETRY_INTERVAL)
