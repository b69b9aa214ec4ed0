"""Log records as JSON lines, each carrying the current request id.

One JSON object per line on stderr (journald keeps it as one entry): `time` (UTC, ISO 8601),
`level`, `logger`, `message`, `request_id`, the record's extra fields, and a traceback as
`exc_info` inside the same line. nginx logs the same `request_id` (nginx/board.conf.j2), so
`journalctl -u gunicorn | grep ID` and the nginx access log follow one request across both.
"""

import contextvars
import logging

from pythonjsonlogger.json import JsonFormatter

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-"
)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record, `-` outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class JsonLineFormatter(JsonFormatter):
    """python-json-logger's formatter with the project's field names and a UTC timestamp."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        # ISO 8601 in UTC; the library's encoder logs any value that is not JSON by its str().
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)


def first_line(exc: BaseException) -> str:
    """An error's first line for a log message (libpq's run over several), else its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
