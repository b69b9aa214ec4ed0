import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse


def test_healthz_touches_no_database(client, settings):
    # No django_db mark: pytest-django raises on any database access in this test.
    settings.APP_REVISION = "abc123"
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-App-Revision"] == "abc123"


@pytest.mark.django_db
def test_readyz_is_200_when_migrated(client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "cache": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_while_a_migration_is_unapplied(client):
    latest = MigrationRecorder.Migration.objects.filter(app="board").order_by("-id").first()
    latest.delete()  # recorded as not applied, as after deploying code before migrating
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "ok", "migrations": "pending", "cache": "ok"}
    assert body["reason"] == "unapplied migrations"
    assert f"board.{latest.name}" in body["pending_migrations"]


@pytest.mark.django_db
def test_probes_are_not_throttled(client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/min")
    for _ in range(5):
        assert client.get(reverse("healthz")).status_code == 200
        assert client.get(reverse("readyz")).status_code == 200


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get("/api/v1/posts/").status_code == 301
