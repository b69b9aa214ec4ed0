"""DRF's rate throttles, made exact under concurrency when the cache is Redis.

DRF reads a client's request history, decides, and writes it back: two workers answering the
same client at the same moment both read N-1 and both let a request through. On Redis the
window is a sorted set of request times updated in one MULTI/EXEC transaction (drop expired
entries, add this request, count), so of any number of concurrent requests exactly the first N
in the window pass; a refused request takes its entry out again. Other caches (the database
cache of `make run`) keep DRF's own logic.
"""

import math
import uuid

from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy
from rest_framework import throttling


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
