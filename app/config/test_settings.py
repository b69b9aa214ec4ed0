"""Settings for the test suite: production settings with test-only environment defaults.

The environment still wins (DATABASE_URL selects PostgreSQL); only what is unset is filled in.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("DEBUG", "False")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
os.environ.setdefault("CACHE_DIR", "")

from config.settings import *  # noqa: E402,F403

# Hashing cost is not under test; MD5 keeps the suite fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The manifest needs `collectstatic`; tests render pages without running it.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
