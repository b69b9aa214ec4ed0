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
