"""core.database: PostgreSQL's backend that waits for a server taking writes (a Patroni cluster's
switchover) before a new connection fails, and only when DATABASE_CONNECT_RETRY_SECONDS asks."""

import logging
import socket

import pytest
from django.db import connection, connections
from django.db.utils import OperationalError

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


def _refusing_port() -> int:
    """A loopback port nothing listens on: libpq's connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wrapper_to(port: int):
    settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": port}
    return type(connections["default"])(settings_dict, alias="default")


def test_the_production_engine_is_django_s_postgresql_backend_with_the_wait():
    assert connection.settings_dict["ENGINE"] == "core.database"
    assert connection.vendor == "postgresql"


def _fail_to_connect(settings, caplog, budget: float) -> list[str]:
    """A refused connection with `budget` seconds to wait; the backend's retry warnings."""
    settings.DATABASE_CONNECT_RETRY_SECONDS = budget
    wrapper = _wrapper_to(_refusing_port())
    with (
        caplog.at_level(logging.WARNING, logger="core.database.base"),
        pytest.raises(OperationalError),
    ):
        wrapper.ensure_connection()
    return [r.getMessage() for r in caplog.records]


def test_without_a_budget_the_first_refused_connection_fails(settings, caplog):
    assert _fail_to_connect(settings, caplog, 0) == []


def test_with_a_budget_a_refused_connection_is_tried_again_then_fails(settings, caplog):
    retries = [m for m in _fail_to_connect(settings, caplog, 1) if "trying again" in m]
    assert len(retries) >= 1, caplog.text
    assert "attempt 1" in retries[0]
