"""Liveness and readiness probes, and JSON error pages for the whole site."""

import functools
import sys

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.urls import is_valid_path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from core.exceptions import DATABASE_DOWN_ERRORS, database_unavailable

SAFE_METHODS = ("GET", "HEAD")


def json_require_safe(view):
    """Django's require_safe, answering a JSON 405 (with Allow) instead of an empty HTML one.
    CSRF-exempt: a POST gets that 405, not the CSRF failure, and these views change nothing."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in SAFE_METHODS:
            response = method_not_allowed(request.method)
            response["Allow"] = ", ".join(SAFE_METHODS)
            return response
        return view(request, *args, **kwargs)

    return wrapper


@never_cache
@json_require_safe
def healthz(request):
    """The process is up. Touches no database, so a database outage does not restart it."""
    response = JsonResponse({"status": "ok"})
    # Which release answers: deploys and their tests read it to see the switch happen.
    response["X-App-Revision"] = settings.APP_REVISION
    return response


@never_cache
@json_require_safe
def readyz(request):
    """Ready for traffic, dependency by dependency.

    The database must answer and every migration be applied, else 503 (a load balancer takes
    this server out, a deploy stops). A cache that is down only makes the throttle fail open
    (core/throttling.py): the API still serves, so the answer is 200 with status "degraded": a
    shared Redis outage must not take every app server out of the load balancer at once.
    """
    # The database first; a failure while reading the migrations still says it answered.
    checks, body = {"database": "unavailable"}, {}
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        checks["migrations"] = "unknown"
        body["reason"] = f"database error: {exc.__class__.__name__}"
    else:
        checks["migrations"] = "pending" if pending else "ok"
        if pending:
            body["reason"] = "unapplied migrations"
            body["pending_migrations"] = [f"{m.app_label}.{m.name}" for m, _ in pending]
    checks["cache"] = _cache_check()
    if checks["database"] != "ok" or checks["migrations"] != "ok":
        status, code = "unavailable", 503
    elif checks["cache"] != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ready", 200
    return JsonResponse({"status": status, "checks": checks, **body}, status=code)


def _cache_check() -> str:
    """Round trip to the shared cache (Redis in production) that holds the throttle counters."""
    try:
        cache.get("readyz-probe")
    except Exception:  # noqa: BLE001 - any failure of the cache is its outage, reported as such
        return "unavailable"
    return "ok"


def _error(status: int, detail: str):
    return JsonResponse({"detail": detail}, status=status)


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):  # a form over DATA_UPLOAD_MAX_MEMORY_SIZE
        return _error(
            413, f"Request body too large: at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    return _error(400, "Bad request.")


def permission_denied(request, exception=None):
    return _error(403, "You do not have permission to perform this action.")


def page_not_found(request, exception=None):
    path = request.path_info
    if (
        path.startswith("/api/")
        and not path.endswith("/")
        and is_valid_path(f"{path}/", getattr(request, "urlconf", None))
    ):
        return _error(404, f"Not found. API paths end with a slash: {request.path}/")
    return _error(404, "Not found.")


def method_not_allowed(method: str):
    return _error(405, f'Method "{method}" not allowed.')


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: Django's own page is HTML."""
    return _error(403, f"CSRF verification failed: {reason}")


def server_error(request):
    # A database outage inside a middleware (before any view) lands here, not in a view's handler.
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_DOWN_ERRORS):
        return database_unavailable(request, exc)
    return _error(500, "Internal server error.")
