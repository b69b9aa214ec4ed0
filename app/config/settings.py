"""Settings for the board API, read from the environment in one place.

Every value comes from an environment variable (or a `.env` file beside the repository, which
`make run` writes for local use). `.env.example` documents each variable. Production values are
rendered by Ansible into the server's `shared/.env`, which systemd loads for Gunicorn.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from decouple import AutoConfig, Config, Csv, RepositoryEnv
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from core.sentry import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent
# A `.env` is looked for in the repository root (beside `app/`) and its parents, unless ENV_FILE
# names the file to read (the test suite names /dev/null: a developer's `.env` must not change it).
# The process environment always wins over the file.
_env_file = os.environ.get("ENV_FILE", "")
config = (
    Config(RepositoryEnv(_env_file)) if _env_file else AutoConfig(search_path=str(BASE_DIR.parent))
)


def env(name, default, cast=None):
    """A setting from the environment; unset or empty (`NAME=` in a copied .env) is the default."""
    if config(name, default="") == "":
        return default
    return config(name, cast=cast) if cast is not None else config(name)


DEBUG = env("DEBUG", default=False, cast=bool)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG off) needs a secret key: set the "
            "SECRET_KEY environment variable (see .env.example), or set DEBUG=True for development."
        )
    # Development only: a throwaway key per process, never a key that lives in the repository.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"], cast=Csv())
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS", default=[], cast=Csv())
ADMIN_URL = env("ADMIN_URL", default="admin/")
if not ADMIN_URL.endswith("/") or ADMIN_URL.startswith("/"):
    raise ImproperlyConfigured("ADMIN_URL must be a relative path ending in '/', e.g. 'admin/'.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    # Refresh tokens issued and revoked (rotation, logout, password change, deactivation).
    # `manage.py flushexpiredtokens` deletes the expired ones.
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "board",
]

MIDDLEWARE = [
    # Outermost: counts the status the client really gets (core/metrics.py).
    "core.metrics.MetricsMiddleware",
    "core.middleware.RequestLogMiddleware",
    # Runs the rest again once when a switchover ended the request's database session before it
    # committed anything (core/request_retry.py).
    "core.request_retry.DatabaseRetryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.ApiCommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A database outage in a view outside DRF: JSON 503 + Retry-After (DRF's: core.exceptions).
    "core.exceptions.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite under app/ when DATABASE_URL is unset (the embedded default); PostgreSQL in
# production. Persistent connections with health checks avoid a new connection per request.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env("CONN_MAX_AGE", default=60, cast=int),
        conn_health_checks=True,
    )
}
# PostgreSQL through core.database: Django's backend, which waits up to this many seconds for a
# server that takes writes before a new connection fails (a Patroni cluster's switchover).
DATABASE_CONNECT_RETRY_SECONDS = env("DATABASE_CONNECT_RETRY_SECONDS", default=0, cast=float)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "core.database"
# Behind PgBouncer's transaction pooling each transaction may get another server connection: a
# server-side cursor (QuerySet.iterator()) would be looked for on the wrong one.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env(
    "DISABLE_SERVER_SIDE_CURSORS", default=False, cast=bool
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`'s workers write to one file concurrently. WAL lets readers go on during a write;
    # IMMEDIATE transactions take the write lock at BEGIN, where the busy timeout waits for it
    # (a DEFERRED transaction that read first fails at once with "database is locked" when its
    # lock upgrade would deadlock: the timeout never applies).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,  # seconds to wait for the write lock
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counters live in the cache, which every Gunicorn worker (and every app server) must
# share for a rate to hold. Production: Redis (REDIS_URL, e.g. unix://user:password@/path.sock or
# redis://host:6379/0, as in the container stack). Without it: a table in the app's own database,
# shared by the workers of `make run` with no extra service (`migrate` creates it, core/apps.py).
# Never a file cache: it culls live counters at random past MAX_ENTRIES.
REDIS_URL = env("REDIS_URL", default="")
CACHE_TABLE = "board_cache"
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            # Expired rows are culled on writes; live windows are never culled below this.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Behind a TLS-terminating proxy (nginx sets X-Forwarded-Proto to its own $scheme).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT", default=True, cast=bool)
# Probes reach Gunicorn over its socket without TLS; they must not be redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS", default=63072000, cast=int)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True, cast=bool)
SECURE_HSTS_PRELOAD = env("SECURE_HSTS_PRELOAD", default=True, cast=bool)
SESSION_COOKIE_SECURE = env("SECURE_COOKIES", default=True, cast=bool)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
# A refused CSRF check (the admin's forms, a POST to a plain Django view) answers JSON.
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

# The largest request body, in nginx's size syntax: the same value as nginx's
# client_max_body_size (deploy/roles/nginx/defaults/main.yml, nginx_client_max_body_size), so a
# body nginx lets through is never refused here and `make run` (no nginx) refuses the same.
REQUEST_BODY_MAX = env("REQUEST_BODY_MAX", default="1m")
_size = re.fullmatch(r"(\d+)([kmg]?)", REQUEST_BODY_MAX.strip().lower())
if _size is None:
    raise ImproperlyConfigured(
        f"REQUEST_BODY_MAX={REQUEST_BODY_MAX!r} is not a size in nginx's syntax (e.g. 1m, 512k)."
    )
DATA_UPLOAD_MAX_MEMORY_SIZE = int(_size[1]) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[_size[2]]
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, with the scheme ("Bearer") matched case-insensitively.
        "accounts.authentication.CaseInsensitiveJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # orjson, byte-compatible with DRF's JSONRenderer (core/renderers.py); no browsable API.
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.ORJSONRenderer"],
    # DRF's JSON parser with the body size limit below and a nesting limit (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CreatedAtCursorPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON_RATE", default="100/min"),
        "user": env("THROTTLE_USER_RATE", default="1000/min"),
        "auth": env("THROTTLE_AUTH_RATE", default="20/min"),
    },
    # How many proxies sit in front of Gunicorn (1 behind nginx). DRF then takes the client IP
    # from that position in X-Forwarded-For, so clients cannot choose their throttle key.
    "NUM_PROXIES": env("NUM_PROXIES", default=0, cast=int),
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env("JWT_ACCESS_MINUTES", default=15, cast=int)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env("JWT_REFRESH_DAYS", default=7, cast=int)),
    "UPDATE_LAST_LOGIN": False,
    # A refresh token is used once: each refresh answers a new one and blacklists the old.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a hash of the user's password hash (claim "hash_password"), checked on every
    # request: a password change ends every access token issued before it, at once.
    "CHECK_REVOKE_TOKEN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Board API",
    "DESCRIPTION": "A message board: users, posts, comments and tags, with soft delete and JWT.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's error responses and the shared Error component (core/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
    ],
}

# The release's git revision, shown in `/healthz` so a deploy can see which code answers.
APP_REVISION = env("APP_REVISION", default="dev")

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# JSON lines on stderr (journald under systemd), one per record, with the request id
# (core/logging.py). A traceback stays inside its record's line.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonLineFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our request log already has one line per request; keep django.request for 5xx tracebacks.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# Error reports (core/sentry.py): off unless SENTRY_DSN is set (the vault carries it to
# production). Events name the release (APP_REVISION) and this environment.
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
SENTRY_ENABLED = init_sentry(dsn=SENTRY_DSN, release=APP_REVISION, environment=SENTRY_ENVIRONMENT)
