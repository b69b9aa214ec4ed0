import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_env(monkeypatch):
    def set_env(username="admin", password="a-long-and-unusual-passphrase-42"):  # noqa: S107
        monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", username)
        monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", f"{username}@example.com")
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", password)

    return set_env


def test_creates_the_superuser_once(superuser_env, capsys):
    superuser_env()
    call_command("ensure_superuser")
    call_command("ensure_superuser")
    out = capsys.readouterr().out
    assert "superuser admin created" in out and "superuser admin exists: unchanged" in out
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("a-long-and-unusual-passphrase-42")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("84629175301", "entirely numeric"),
        ("quartermaster9", "too similar"),
    ],
)
def test_refuses_a_password_the_validators_refuse_naming_the_rule(superuser_env, password, rule):
    superuser_env(username="quartermaster", password=password)
    with pytest.raises(CommandError, match=rule):
        call_command("ensure_superuser")
    assert not get_user_model().objects.filter(username="quartermaster").exists()


def test_needs_a_username_and_a_password(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_USERNAME"):
        call_command("ensure_superuser")
