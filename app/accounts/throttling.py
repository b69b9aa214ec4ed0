"""The stricter throttle scope for endpoints that take passwords."""

from core.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

AUTH_THROTTLES = [AnonRateThrottle, UserRateThrottle, ScopedRateThrottle]
AUTH_THROTTLE_SCOPE = "auth"
