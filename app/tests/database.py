"""What a PostgreSQL test does to the database from outside: a second connection of its own."""

import contextlib
import threading
import time

from django.db import connections


@contextlib.contextmanager
def other_connection():
    """A second session on the test database (a Django wrapper of its own), closed after."""
    other = type(connections["default"])(connections["default"].settings_dict, alias="default")
    try:
        other.ensure_connection()
        yield other
    finally:
        other.close()


@contextlib.contextmanager
def _other_cursor():
    with other_connection() as other, other.cursor() as cursor:
        yield cursor


def end_session(wrapper) -> None:
    """Ends `wrapper`'s session from a second connection, as a PostgreSQL shutdown or a
    switchover does (pg_terminate_backend: admin_shutdown on the next statement)."""
    pid = wrapper.connection.get_backend_pid()
    with _other_cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def _configure(**values: str | None) -> None:
    with _other_cursor() as cursor:
        for name, value in values.items():
            if value is None:
                cursor.execute(f"ALTER SYSTEM RESET {name}")
            else:
                cursor.execute(f"ALTER SYSTEM SET {name} = %s", [value])
        cursor.execute("SELECT pg_reload_conf()")


def wait_for_the_standby(raw_connection) -> None:
    """The COMMIT of the transaction open on `raw_connection` waits for the synchronous standby
    (inside synchronous_standby_that_never_answers())."""
    with raw_connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = on")


def end_session_once_its_commit_waits(pid: int, timeout: float = 60) -> threading.Event:
    """In a thread: once session `pid` waits for its synchronous standby in a COMMIT (committed
    here, not yet acknowledged: what a switchover's fast shutdown cuts), ends it. Set the event
    returned to stop watching. Until `timeout`: a COMMIT that waits later would wait for good."""
    stop = threading.Event()

    def end_it():
        deadline = time.monotonic() + timeout
        with _other_cursor() as cursor:
            while not stop.is_set() and time.monotonic() < deadline:
                cursor.execute("SELECT wait_event FROM pg_stat_activity WHERE pid = %s", [pid])
                row = cursor.fetchone()
                if row and row[0] == "SyncRep":
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                    return
                time.sleep(0.02)

    threading.Thread(target=end_it, daemon=True).start()
    return stop


@contextlib.contextmanager
def synchronous_standby_that_never_answers():
    """A synchronous standby is named that never answers, as when a primary's is away; only a
    transaction that asks (wait_for_the_standby) waits for it, the others commit locally (the
    settings are the server's). Yields once a probe's COMMIT waited: a reload reaches the
    server's processes some time after pg_reload_conf() returns."""
    _configure(synchronous_standby_names="absent_standby", synchronous_commit="local")
    try:
        for _ in range(100):
            with other_connection() as probe:
                stop = end_session_once_its_commit_waits(probe.connection.get_backend_pid())
                try:
                    with probe.connection.cursor() as cursor:
                        # A write (a temporary table's catalog rows), so that its COMMIT waits.
                        cursor.execute(
                            "BEGIN; SET LOCAL synchronous_commit = on;"
                            " CREATE TEMPORARY TABLE probe (x int); COMMIT"
                        )
                except probe.Database.OperationalError:  # ended while it waited: it applies
                    break
                finally:
                    stop.set()
            time.sleep(0.05)
        else:
            raise AssertionError("no COMMIT waited for the synchronous standby")
        yield
    finally:
        _configure(synchronous_standby_names=None, synchronous_commit=None)
