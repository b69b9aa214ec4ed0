"""What a PostgreSQL test does to the database from outside: a second connection of its own."""

from django.db import connections


def end_session(wrapper) -> None:
    """Ends `wrapper`'s session from a second connection, as a PostgreSQL shutdown or a
    switchover does (pg_terminate_backend: admin_shutdown on the next statement)."""
    pid = wrapper.connection.get_backend_pid()
    other = type(connections["default"])(wrapper.settings_dict, alias="default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
