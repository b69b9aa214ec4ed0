import pytest
from django.core.management import CommandError, call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.db.migrations.recorder import MigrationRecorder

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a request must not close the test's open transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_probe_ready_passes_on_a_migrated_database(capsys):
    call_command("probe_ready")
    assert "/readyz answered 200 OK" in capsys.readouterr().out


def test_probe_ready_fails_while_a_migration_is_unapplied():
    MigrationRecorder.Migration.objects.filter(app="board").delete()
    with pytest.raises(CommandError, match="503"):
        call_command("probe_ready")


def test_probe_ready_fails_on_a_broken_path():
    with pytest.raises(CommandError, match="404"):
        call_command("probe_ready", "--path", "/no-such-probe")
