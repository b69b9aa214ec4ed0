"""DRF's rate throttles, made exact under concurrency when the cache is Redis.

DRF reads a client's request history, decides, and writes it back: two workers answering the
same client at the same moment both read N-1 and both let a request through. On Redis the
window is a sorted set of request times updated in one MULTI/EXEC transaction (drop expired
entries, add this request, count), so of any number of concurrent requests exactly the first N
in the window pass; a refused request takes its entry out again. Other caches (the database
cache of `make run`) keep DRF's own logic.

A cache that is down fails open: the request is served unthrottled (nginx's limit_req still
limits each client), counted in board_degraded_requests_total{dependency="cache"}, and logged at
most once per worker per CACHE_DOWN_LOG_INTERVAL seconds, not once per request. The database
cache's connection is the view's: when its query broke that connection (a Patroni switchover ends
every session on the old primary, possibly just after the request's health check), the connection
is closed there, so the view opens a new one (core.database waits for the new primary) instead of
failing on the broken one.
"""

import logging
import math
import threading
import time
import uuid

from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connections
from django.utils.connection import ConnectionProxy
from redis.exceptions import RedisError
from rest_framework import throttling

from core.metrics import THROTTLED, record_degraded
from core.request_retry import repeatable

logger = logging.getLogger("board.throttling")

# What a cache that is down raises: redis-py's errors (refused, timed out, authentication), the
# operating system's (a missing socket file), the database cache's.
CACHE_ERRORS = (RedisError, OSError, DatabaseError)
CACHE_DOWN_LOG_INTERVAL = 60.0
_log_lock = threading.Lock()
_last_logged = -math.inf


def _log_cache_down(exc: Exception) -> None:
    global _last_logged
    with _log_lock:
        now = time.monotonic()
        if now - _last_logged < CACHE_DOWN_LOG_INTERVAL:
            return
        _last_logged = now
    logger.warning(
        "The throttle cache is unavailable (%s: %s); requests are served unthrottled. "
        "Logged at most once every %.0f s per worker.",
        exc.__class__.__name__,
        exc,
        CACHE_DOWN_LOG_INTERVAL,
    )


def _close_broken_connections() -> None:
    """Close each connection a query just failed on that no longer answers, as Django does at
    the start of a request; one inside a transaction is left to it."""
    for conn in connections.all(initialized_only=True):
        if conn.errors_occurred and not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def _backend(cache):
    """The cache backend behind `django.core.cache.cache` (a proxy to the current one)."""
    if isinstance(cache, ConnectionProxy):
        return cache._connections[cache._alias]
    return cache


class AtomicRedisWindow(throttling.SimpleRateThrottle):
    """Sits between DRF's throttle classes and SimpleRateThrottle in the MRO (see below)."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            # A second attempt of the request (core.request_retry) counts it again: harmless.
            with repeatable():
                allowed = self._allow(request, view)
        except CACHE_ERRORS as exc:
            _log_cache_down(exc)
            record_degraded(request, "cache")
            if isinstance(exc, DatabaseError):
                _close_broken_connections()
            return True
        if not allowed:
            THROTTLED.labels(scope=self.scope).inc()
        return allowed

    def _allow(self, request, view):
        backend = _backend(self.cache)
        if not isinstance(backend, RedisCache):
            return super().allow_request(request, view)

        key = backend.make_and_validate_key(self.key)
        client = backend._cache.get_client(key, write=True)
        self.now = now = self.timer()
        member = f"{now:.6f}:{uuid.uuid4().hex}"
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now - self.duration)
        pipe.zadd(key, {member: now})
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.expire(key, math.ceil(self.duration))
        _, _, count, oldest, _ = pipe.execute()
        oldest_time = oldest[0][1] if oldest else now
        if count > self.num_requests:
            client.zrem(key, member)
            # What DRF's wait() reads: the requests in the window, the oldest last.
            self.history = [now] * (count - 2) + [oldest_time]
            return self.throttle_failure()
        self.history = [now] * (count - 1) + [oldest_time]
        return True


# DRF's class first: ScopedRateThrottle.allow_request picks the view's scope and rate, then its
# super() is AtomicRedisWindow.allow_request, whose own super() is SimpleRateThrottle's.
class AnonRateThrottle(throttling.AnonRateThrottle, AtomicRedisWindow):
    pass


class UserRateThrottle(throttling.UserRateThrottle, AtomicRedisWindow):
    pass


class ScopedRateThrottle(throttling.ScopedRateThrottle, AtomicRedisWindow):
    pass
