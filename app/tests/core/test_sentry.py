"""The scrubber every error report passes through (core/sentry.py); tests/sentry sends real ones."""

from core.logging import current_request_id
from core.sentry import FILTERED, init_sentry, scrub_event

SECRET = "s3cret-value"  # noqa: S105


def _event():
    return {
        "request": {
            "headers": {
                "Authorization": f"Bearer {SECRET}",
                "Cookie": f"sessionid={SECRET}",
                "X-Api-Key": SECRET,
                "User-Agent": "curl/8",
                "X-Request-ID": "req-1",
            },
            "cookies": {"sessionid": SECRET},
            "data": {"password": SECRET},
            "query_string": f"token={SECRET}&page=2",
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "exception": {
            "values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"pw": SECRET}}]}}]
        },
    }


def test_the_scrubber_removes_every_secret_and_keeps_what_helps():
    event = scrub_event(_event())
    assert SECRET not in repr(event)
    assert event["request"]["headers"] == {"User-Agent": "curl/8", "X-Request-ID": "req-1"}
    assert event["request"]["data"] == FILTERED
    assert event["request"]["query_string"] == f"token={FILTERED}&page={FILTERED}"
    assert "vars" not in event["exception"]["values"][0]["stacktrace"]["frames"][0]


def test_the_request_id_becomes_a_tag():
    token = current_request_id.set("req-42")
    try:
        event = scrub_event({"message": "x"})
    finally:
        current_request_id.reset(token)
    assert event["tags"]["request_id"] == "req-42"


def test_no_dsn_means_no_reporting():
    assert init_sentry(dsn="", release="abc", environment="test") is False
