"""Django's PostgreSQL backend, with a bounded wait for a server that takes writes.

During a Patroni switchover or failover there is a second or more in which no database server
accepts a read-write connection (the old primary has stopped, the new one is still promoting), and
libpq's host list (``target_session_attrs=read-write``) finds none. Opening a connection sends no
statement, so trying again is always safe: a request that needs a new connection in that window
waits (``DATABASE_CONNECT_RETRY_SECONDS``) instead of failing. 0 (the default, one server) keeps
Django's behaviour: the first failure is raised.

It also tells core.request_retry what a request has sent: whatever can make a write durable (a
COMMIT; a statement other than a SELECT outside a transaction, which autocommit applies), and a
statement that failed because the session ended (tagged on the error), so a request cut by a
switchover before it committed anything runs a second time instead of answering 503.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.backends.postgresql import base

from core import request_retry

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


def _watch_for_request_retry(execute, sql, params, many, context):
    connection = context["connection"]
    if not connection.in_atomic_block and sql.lstrip()[:6].upper() != "SELECT":
        request_retry.mark_committed()
    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        if _session_ended(connection, exc):
            setattr(exc, request_retry.SESSION_ENDED, True)
        raise


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The outermost wrapper, for the wrapper's life (connection.execute_wrapper() adds more).
        self.execute_wrappers.append(_watch_for_request_retry)

    def _commit(self):
        request_retry.mark_committed()
        return super()._commit()

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
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                )
                attempt += 1
                time.sleep(RETRY_INTERVAL)
