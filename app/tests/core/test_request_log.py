import io
import json
import logging
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from core.logging import JsonLineFormatter, RequestIdFilter


@pytest.fixture
def json_log():
    """The records of the app's loggers, formatted by the handler settings.LOGGING configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(import_string(settings.LOGGING["formatters"]["json"]["()"])())
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger(name) for name in ("board.request", "django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger in loggers:
        logger.removeHandler(handler)


def test_a_request_is_one_json_line_with_its_fields_and_id(client, json_log):
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    (line,) = [entry for entry in json_log() if entry["logger"] == "board.request"]
    assert line["level"] == "INFO"
    assert line["request_id"] == "req-123"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], float)
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
    assert "T" in line["time"]


def test_request_id_is_generated_when_absent_or_unsafe(client, json_log):
    generated = client.get(reverse("healthz"))["X-Request-ID"]
    assert len(generated) == 32
    forged = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="bad id\nINFO fake")
    assert forged["X-Request-ID"] != "bad id\nINFO fake"
    ids = [entry["request_id"] for entry in json_log()]
    assert ids == [generated, forged["X-Request-ID"]]


def test_control_characters_in_the_path_cannot_forge_log_lines(client, json_log):
    client.get("/healthz%0A2026-01-01 INFO board.request method=GET path=/admin status=200")
    (line,) = json_log()
    assert line["path"].startswith("/healthz%0A2026-01-01%20INFO")
    assert line["status"] == 404


def test_a_traceback_stays_inside_one_json_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("board.test.traceback")
    logger.addHandler(handler)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    finally:
        logger.removeHandler(handler)
    (raw,) = stream.getvalue().splitlines()
    line = json.loads(raw)
    assert line["message"] == "it failed"
    assert line["level"] == "ERROR"
    assert "Traceback (most recent call last)" in line["exc_info"]
    assert "ValueError: boom" in line["exc_info"]


def test_tokens_and_authorization_never_reach_the_log(client, json_log):
    secret = "eyJsecret-token-value"  # noqa: S105
    client.get(
        reverse("healthz") + f"?token={secret}",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        HTTP_COOKIE=f"sessionid={secret}",
    )
    lines = json_log()
    assert lines
    assert secret not in json.dumps(lines)
