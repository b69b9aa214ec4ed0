import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """These tests call Django's WSGI handler itself (as a server would), not the test client.
    Each request would then close the database connection at its start and end, as a server's
    worker does, and with it the test's transaction (PostgreSQL). Django's test client
    disconnects the same handler for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
