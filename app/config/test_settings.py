"""Settings for the test suite: production settings with test-only environment values.

The suite never reads a developer's `.env` (ENV_FILE=/dev/null), and sets every value a test
relies on, so a local `.env` or a stray exported variable cannot change its outcome. Only
DATABASE_URL is taken from the environment (it selects PostgreSQL for `make test-postgres`).
"""

import os

os.environ["ENV_FILE"] = os.devnull
TEST_ENVIRONMENT = {
    "SECRET_KEY": "insecure-test-only-key-not-used-anywhere-else-0123456789",
    "DEBUG": "False",
    "ALLOWED_HOSTS": "testserver,localhost",
    "SECURE_SSL_REDIRECT": "False",
    "SECURE_COOKIES": "True",
    "ADMIN_URL": "admin/",
    "NUM_PROXIES": "0",
    "THROTTLE_ANON_RATE": "100/min",
    "THROTTLE_USER_RATE": "1000/min",
    "THROTTLE_AUTH_RATE": "20/min",
    "REDIS_URL": "",
    "LOG_LEVEL": "INFO",
    "APP_REVISION": "dev",
    "SENTRY_DSN": "",
}
os.environ.update(TEST_ENVIRONMENT)

from config.settings import *  # noqa: E402,F403

# Hashing cost is not under test; MD5 keeps the suite fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The manifest needs `collectstatic`; tests render pages without running it.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Throttle counters per test process (cleared around every test); the shared backends are tested
# on their own (tests/core/test_throttling.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
