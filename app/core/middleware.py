"""One log line per request, tagged with a request id that is echoed to the client."""

import logging
import re
import time
import uuid

from django.middleware.common import CommonMiddleware
from django.utils.encoding import escape_uri_path

from core.logging import current_request_id

logger = logging.getLogger("board.request")

REQUEST_ID_HEADER = "X-Request-ID"
# Accept the proxy's id only when it is a plain token, so log lines cannot be forged.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            duration_ms = (time.perf_counter() - started) * 1000
            # A JSON line (core/logging.py): each value its own field, so a path cannot forge
            # another field or line. The query string is left out (it may carry tokens).
            logger.info(
                "%s %s %s",
                request.method,
                escape_uri_path(request.path),
                response.status_code,
                extra={
                    "method": request.method,
                    "path": escape_uri_path(request.path),
                    "status": response.status_code,
                    "duration_ms": round(duration_ms, 1),
                },
            )
            return response
        finally:
            current_request_id.reset(token)


class ApiCommonMiddleware(CommonMiddleware):
    """Django's CommonMiddleware, without the trailing-slash redirect under /api/.

    A client follows a 301 with a GET, so `POST /api/v1/posts` would silently become a read.
    The API answers a JSON 404 naming the right path instead (core.views.page_not_found).
    """

    def should_redirect_with_slash(self, request):
        if request.path_info.startswith("/api/"):
            return False
        return super().should_redirect_with_slash(request)
