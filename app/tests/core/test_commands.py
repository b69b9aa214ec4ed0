import pytest
from django.core.management import CommandError, call_command
from django.db.migrations.recorder import MigrationRecorder

pytestmark = pytest.mark.django_db


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
