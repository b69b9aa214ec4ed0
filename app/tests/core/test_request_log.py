import logging

from django.urls import reverse


def test_request_id_is_echoed_and_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="board.request"):
        response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    line = next(r for r in caplog.records if r.name == "board.request")
    assert line.request_id == "req-123"
    message = line.getMessage()
    for part in ("method=GET", "path=/healthz", "status=200", "duration_ms="):
        assert part in message


def test_request_id_is_generated_when_absent_or_unsafe(client):
    generated = client.get(reverse("healthz"))["X-Request-ID"]
    assert len(generated) == 32
    forged = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="bad id\nINFO fake")
    assert forged["X-Request-ID"] != "bad id\nINFO fake"


def test_control_characters_in_the_path_cannot_forge_log_lines(client, caplog):
    with caplog.at_level(logging.INFO, logger="board.request"):
        client.get("/healthz%0A2026-01-01 INFO board.request method=GET path=/admin status=200")
    line = next(r for r in caplog.records if r.name == "board.request").getMessage()
    assert "\n" not in line and "\r" not in line
    assert "path=/healthz%0A2026-01-01%20INFO" in line
    # One space-separated field per key: the forged `status=200` is inside the path field.
    assert line.count(" status=") == 1
