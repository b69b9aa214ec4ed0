"""Application metrics (prometheus-client), shared by every Gunicorn worker.

Under Gunicorn, systemd gives the service a directory in PROMETHEUS_MULTIPROC_DIR: each worker
writes its samples to memory-mapped files there, Gunicorn's `child_exit` hook marks a dead
worker's files, and `board-metrics.service` (core/metrics_exporter.py) merges them on every
scrape, so totals survive worker restarts and reloads. Without that variable (tests, `make run`,
management commands, the container stack) the same metrics live in the process's memory.

Labels are bounded: `view` is the resolved URL name, never the raw path.
"""

import contextlib
import time

from django.db import connections
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "board_http_requests",
    "HTTP requests answered, by URL name, method and status.",
    ["view", "method", "status"],
)
REQUEST_DURATION = Histogram(
    "board_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by URL name and method.",
    ["view", "method"],
)
THROTTLED = Counter(
    "board_throttled_requests",
    "Requests refused by a rate throttle (429), by throttle scope.",
    ["scope"],
)
DEGRADED = Counter(
    "board_degraded_requests",
    "Requests answered while a dependency was down (cache: throttle failed open; database: 503).",
    ["dependency"],
)
LOST_COMMITS = Counter(
    "board_database_lost_commits",
    "COMMITs whose session ended before the answer (a switchover, a restart of PostgreSQL), by "
    "what the server reached next has of the transaction: committed (the request went on), not "
    "applied (it runs again) or unknown (503).",
    ["outcome"],
)
RETRIED = Counter(
    "board_database_retried_requests",
    "Requests run a second time because their database session ended before they committed "
    "anything (a switchover or restart of PostgreSQL); the second attempt's status is counted.",
)
DB_QUERIES = Histogram(
    "board_db_queries_per_request",
    "Database queries run by one request, by URL name.",
    ["view"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
)

# Requests that match no URL (404s from scanners) share one label value.
UNMATCHED_VIEW = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def record_degraded(request, dependency: str) -> None:
    """Count a request served without `dependency`, once per request and dependency."""
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    seen = request.__dict__.setdefault("_board_degraded", set())
    if dependency not in seen:
        seen.add(dependency)
        DEGRADED.labels(dependency=dependency).inc()


class _QueryCounter:
    """A database execute wrapper: counts queries, runs them unchanged."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class MetricsMiddleware:
    """Counts every response by view, method and status, with its latency and query count.

    Outermost in MIDDLEWARE, so it sees the status the client gets (including the JSON 503 of a
    database outage); adds no query of its own.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counter = _QueryCounter()
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(counter))
            response = self.get_response(request)
        duration = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else UNMATCHED_VIEW
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        REQUEST_DURATION.labels(view=view, method=method).observe(duration)
        DB_QUERIES.labels(view=view).observe(counter.count)
        return response
