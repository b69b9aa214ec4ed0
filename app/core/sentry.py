"""Error reports to a Sentry-protocol server (Sentry, GlitchTip, Bugsink), off unless SENTRY_DSN.

An event names the release (the deployed git revision), the environment and the request id (the
same one the logs and nginx carry), and carries no secret: sentry-sdk sends no personal data
(send_default_pii off), and `scrub_event` removes what could still hold one - every request
header but a short list of harmless ones, cookies, the body, query string values and local
variables - before the event leaves the process.
"""

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

from core.logging import current_request_id

FILTERED = "[Filtered]"
# Request headers an event may keep; anything else (Authorization, Cookie, API keys, proxies'
# headers) is dropped.
SAFE_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "content-length", "content-type", "host",
     "user-agent", "x-request-id"}
)  # fmt: skip


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """before_send: tag the request id, then strip what could carry a secret."""
    request_id = current_request_id.get()
    if request_id != "-":
        event.setdefault("tags", {})["request_id"] = request_id

    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        request["headers"] = {
            name: value for name, value in headers.items() if name.lower() in SAFE_HEADERS
        }
        request.pop("cookies", None)
        if request.get("data"):
            request["data"] = FILTERED
        query = request.get("query_string")
        if query:
            # Keep the parameter names (useful to reproduce), never their values.
            names = [part.split("=", 1)[0] for part in str(query).split("&") if part]
            request["query_string"] = "&".join(f"{name}={FILTERED}" for name in names)
        request.pop("env", None)

    for exception in (event.get("exception") or {}).get("values") or []:
        _drop_frame_vars((exception.get("stacktrace") or {}).get("frames"))
    for thread in (event.get("threads") or {}).get("values") or []:
        _drop_frame_vars((thread.get("stacktrace") or {}).get("frames"))
    return event


def _drop_frame_vars(frames):
    for frame in frames or []:
        frame.pop("vars", None)


def init_sentry(*, dsn: str, release: str, environment: str) -> bool:
    """Start reporting when a DSN is set; returns whether it did."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        release=release,
        environment=environment,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        # Local variables often hold tokens and passwords: never captured (and scrubbed anyway).
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        # Errors only: no performance tracing traffic.
        traces_sample_rate=0.0,
    )
    return True
