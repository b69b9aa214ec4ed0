"""DRF's exception handler, plus Django's ValidationError (raised by models and services) as 400,
Django's refusal of a body over DATA_UPLOAD_MAX_MEMORY_SIZE as 413, and a database that is down
as a JSON 503 with Retry-After (not a 500), unless core.request_retry runs the request again."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler, set_rollback

from core.logging import first_line
from core.metrics import record_degraded
from core.request_retry import run_again_instead_of_503, why_not_run_again

logger = logging.getLogger("board.request")

# A connection that cannot be made or was lost; IntegrityError, DataError and the like are bugs
# or bad input, not an outage, and stay 500s (or 400s where a serializer catches them).
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError)
# How long a client should wait before retrying: about what a restart of PostgreSQL takes.
DATABASE_RETRY_AFTER_SECONDS = 10
DATABASE_DOWN_DETAIL = "The service is temporarily unavailable. Try again later."


def _count_database_down(request, exc: BaseException | None) -> None:
    """A 503 that core.request_retry replaces by a second attempt is not a degraded answer. One
    the client gets is counted, and logged with its error and why it was not run again: Django's
    own log line gives the status alone."""
    if run_again_instead_of_503(exc):
        return
    record_degraded(request, "database")
    logger.warning(
        "The database failed the request, answering 503 (not run again as %s): %s: %s",
        why_not_run_again(exc),
        type(exc).__name__,
        first_line(exc) if exc is not None else "",
    )


def database_unavailable(request, exc: BaseException | None) -> JsonResponse:
    """The answer to any request that found the database down (Django views, middleware)."""
    _count_database_down(request, exc)
    response = JsonResponse({"detail": DATABASE_DOWN_DETAIL}, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"Request body too large: at most {limit} bytes.")


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    if isinstance(exc, DATABASE_DOWN_ERRORS):
        set_rollback()
        _count_database_down(context["request"], exc)
        return Response(
            {"detail": DATABASE_DOWN_DETAIL},
            status=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    return exception_handler(exc, context)


class DatabaseUnavailableMiddleware:
    """The same 503 for views outside DRF (the admin, the schema) when the database is down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_DOWN_ERRORS):
            return database_unavailable(request, exception)
        return None
