"""A request whose database session ended before it committed anything runs a second time.

A Patroni switchover (or a restart of PostgreSQL) ends every session on the old primary. A
request whose connection passed Django's health check just before that fails on its next query;
its client would get the JSON 503 (core.exceptions) although a second try succeeds:
core.database opens the next connection on the new primary, waiting for it to promote.

Running the request again is safe only while the database cannot have kept any of its writes.
core.database marks the attempt as committed once a transaction that wrote committed, or before
it sends a statement other than a SELECT outside a transaction (autocommit applies it at once): a
transaction cut before its COMMIT was rolled back by the server. So the 503 handlers ask for a
second attempt when the error is a session that ended (core.database tags it) and nothing was
marked committed. A lost COMMIT is looked up on the next server (core.database.commit_outcome):
one it cannot tell about keeps the 503, and so does any other database error (a statement
timeout run twice would double the load). The throttle's bookkeeping (its request
history in the database cache) is `repeatable()`: a second attempt counts the request again.
The body is read before the first attempt, so the second parses the same bytes.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from django.db import close_old_connections
from django.http import UnreadablePostError

from core.metrics import RETRIED

logger = logging.getLogger("board.request")

# Set on a database error by core.database when the error is the end of the session.
SESSION_ENDED = "board_session_ended"


@dataclass
class Attempt:
    number: int = 1
    rereadable: bool = True  # the request's body can be parsed again
    committed: bool = False
    repeatable_depth: int = 0
    run_again: bool = False


_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "board_request_attempt", default=None
)


def mark_committed() -> None:
    """Called by the database backend when a write may be durable: a COMMIT of a transaction
    that wrote succeeded (or its outcome is unknown), an autocommit write is about to be sent."""
    attempt = _attempt.get()
    if attempt is not None and not attempt.repeatable_depth:
        attempt.committed = True


@contextlib.contextmanager
def repeatable():
    """Writes in this block may be done again by a second attempt (the throttle's history)."""
    attempt = _attempt.get()
    if attempt is None:
        yield
        return
    attempt.repeatable_depth += 1
    try:
        yield
    finally:
        attempt.repeatable_depth -= 1


def why_not_run_again(exc: BaseException | None) -> str | None:
    """Why a request that failed with `exc` must answer its 503; None when it can run again."""
    attempt = _attempt.get()
    if attempt is None:
        return "outside the retry middleware"
    if attempt.number > 1:
        return "its second attempt failed too"
    if attempt.committed:
        return "it had written: a COMMIT applied or not known, or an autocommit write"
    if not attempt.rereadable:
        return "its body cannot be read a second time"
    if not getattr(exc, SESSION_ENDED, False):
        return "the error is not a session that ended"
    return None


def run_again_instead_of_503(exc: BaseException | None) -> bool:
    """Asked by the 503 handlers: True when the middleware runs the request again (the 503 is
    discarded), because `exc` is a session that ended and nothing was committed."""
    if why_not_run_again(exc) is not None:
        return False
    _attempt.get().run_again = True
    return True


class DatabaseRetryMiddleware:
    """Runs the rest of the chain a second time when the first attempt's session ended."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Read once here: the wire's stream cannot be read twice, Django's copy can. Django
        # checks CONTENT_LENGTH against its upload limit before it reads a byte: a larger body
        # (or a malformed length) stays unread, and the view refuses it as it did before.
        try:
            request.body  # noqa: B018
            rereadable = True
        except (RequestDataTooBig, ValueError, UnreadablePostError):  # or the client went away
            rereadable = False
        first = Attempt(rereadable=rereadable)
        token = _attempt.set(first)
        try:
            response = self.get_response(request)
            if not first.run_again:
                return response
            logger.warning(
                "The database session ended before the request committed anything; running it again"
            )
            RETRIED.inc()
            # Closes the ended connection, so the next query opens one to the primary.
            close_old_connections()
            _attempt.set(Attempt(number=2))
            return self.get_response(request)
        finally:
            _attempt.reset(token)
