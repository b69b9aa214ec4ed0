"""The app's own settings, plus the baseline views (bench/urls.py) in the same Gunicorn process.

Everything else, including every value read from the environment, is config.settings unchanged.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
