"""One log line per request, tagged with a request id that is echoed to the client."""

import logging
import re
import time
import uuid

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
            logger.info(
                "method=%s path=%s status=%s duration_ms=%.1f",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
            )
            return response
        finally:
            current_request_id.reset(token)
