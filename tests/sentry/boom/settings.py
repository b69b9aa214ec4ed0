"""The app's production settings plus one route that fails on purpose (tests/sentry only)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "boom.urls"
