"""A dependency that is down degrades the API instead of breaking it (no mocks: real servers
stopped, a real connection to a port nothing listens on)."""

import json
import logging

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from core import throttling
from tests.database import end_session
from tests.metrics import degraded
from tests.processes import run_python

pytestmark = pytest.mark.django_db


def test_redis_down_the_throttle_fails_open_and_is_counted(api, redis_cache, monkeypatch, caplog):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/min")
    monkeypatch.setattr(throttling, "_last_logged", float("-inf"))
    assert [api.get(reverse("post-list")).status_code for _ in range(2)] == [200, 429]
    redis_cache.stop()
    before = degraded("cache")
    with caplog.at_level(logging.WARNING, logger="board.throttling"):
        codes = [api.get(reverse("post-list")).status_code for _ in range(5)]
    assert codes == [200] * 5
    # Anonymous requests pass two throttles (anon, user); each request is counted once.
    assert degraded("cache") == before + 5
    warnings = [r for r in caplog.records if r.name == "board.throttling"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unthrottled" in warnings[0].getMessage()


def test_redis_down_scoped_throttle_fails_open_too(api, redis_cache):
    redis_cache.stop()
    before = degraded("cache")
    response = api.post(reverse("token"), {"username": "x", "password": "y"})
    assert response.status_code == 401  # the view answered: no 500 from the throttle
    assert degraded("cache") == before + 1


# Autocommit, as in production: on PostgreSQL a failed query would abort a test's transaction.
@pytest.mark.django_db(transaction=True)
def test_database_cache_down_fails_open_through_drfs_path(api, settings, monkeypatch):
    """`make run`'s database cache, its table missing: DRF's own get/set path fails open."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "no_such_cache_table",
        }
    }
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/min")
    before = degraded("cache")
    codes = [api.get(reverse("healthz")).status_code, api.get(reverse("post-list")).status_code]
    codes.append(api.get(reverse("post-list")).status_code)
    assert codes == [200, 200, 200]
    assert degraded("cache") == before + 2


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_session_ended_under_the_database_caches_query_is_not_the_views(api, settings):
    """A Patroni switchover ends every session on the old primary, possibly between a request's
    health check and its throttle's query of the database cache (the lab's cache): the throttle
    fails open and the view answers on a new connection, not a 503 from the broken one."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": settings.CACHE_TABLE,
        }
    }
    ended = []

    def end_the_session_first(execute, sql, params, many, context):
        if not ended and settings.CACHE_TABLE in sql:
            end_session(context["connection"])
            ended.append(sql)
        return execute(sql, params, many, context)

    before = degraded("cache")
    with connection.execute_wrapper(end_the_session_first):
        response = api.get(reverse("post-list"))
    assert ended, "the throttle never queried the database cache"
    assert response.status_code == 200, response.content
    assert degraded("cache") == before + 1


def test_readyz_reports_the_cache_down_and_still_answers_200(client, redis_cache):
    body = client.get(reverse("readyz")).json()
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "cache": "ok"},
    }
    redis_cache.stop()
    response = client.get(reverse("readyz"))
    # The API still serves: a load balancer must not take every server out over a shared Redis.
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "migrations": "ok", "cache": "unavailable"},
    }


# Runs in its own process against a PostgreSQL address nothing listens on (a real, refused
# connection): list and create answer a JSON 503 with Retry-After, /readyz a 503 naming the
# database, and each API request counts once as degraded.
DATABASE_DOWN_SCRIPT = """
import json
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework_simplejwt.tokens import AccessToken

token = AccessToken()
token["user_id"] = 1
client = Client()
out = {}
for name, response in (
    ("list", client.get("/api/v1/posts/")),
    ("create", client.post("/api/v1/posts/", {"title": "t", "body": "b"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")),
    ("admin", client.post("/admin/login/", {"username": "a", "password": "b"})),
    ("readyz", client.get("/readyz")),
):
    out[name] = [response.status_code, response.get("Retry-After"), response["Content-Type"],
                 response.content.decode()]
out["degraded"] = REGISTRY.get_sample_value(
    "board_degraded_requests_total", {"dependency": "database"})
print(json.dumps(out))
"""


def test_database_down_answers_json_503_with_retry_after():
    result = run_python(
        DATABASE_DOWN_SCRIPT, DATABASE_URL="postgres://board:nope@127.0.0.1:9/board"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("list", "create", "admin"):
        status, retry_after, content_type, body = out[name]
        assert (status, content_type) == (503, "application/json"), (name, out[name])
        assert int(retry_after) > 0
        assert "temporarily unavailable" in json.loads(body)["detail"]
    status, retry_after, _, body = out["readyz"]
    assert status == 503
    assert json.loads(body) == {
        "status": "unavailable",
        # No REDIS_URL: the cache is a table in the same database, down with it.
        "checks": {"database": "unavailable", "migrations": "unknown", "cache": "unavailable"},
        "reason": "database error: OperationalError",
    }
    assert out["degraded"] == 3  # list, create, admin (a probe is not a degraded request)
    assert "Traceback" not in result.stderr


def test_integrity_errors_are_not_an_outage(author_client, monkeypatch):
    """Only a lost or refused connection is a 503; any other database error stays a 500."""
    from django.db import IntegrityError

    from board import views

    def broken(*args, **kwargs):
        raise IntegrityError("duplicate key")

    monkeypatch.setattr(views.PostViewSet, "list", broken)
    author_client.raise_request_exception = False
    before = degraded("database")
    assert author_client.get(reverse("post-list")).status_code == 500
    assert degraded("database") == before
