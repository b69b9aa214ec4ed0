"""Django's PostgreSQL backend, with a bounded wait for a server that takes writes.

During a Patroni switchover or failover there is a second or more in which no database server
accepts a read-write connection (the old primary has stopped, the new one is still promoting), and
libpq's host list (``target_session_attrs=read-write``) finds none. Opening a connection sends no
statement, so trying again is always safe: a request that needs a new connection in that window
waits (``DATABASE_CONNECT_RETRY_SECONDS``) instead of failing. 0 (the default, one server) keeps
Django's behaviour: the first failure is raised.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db.backends.postgresql import base

logger = logging.getLogger(__name__)

RETRY_INTERVAL = 0.5  # seconds between two attempts


class DatabaseWrapper(base.DatabaseWrapper):
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
