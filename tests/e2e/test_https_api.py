"""The deployed site seen from outside the server, over HTTPS, as a client would see it.

The tests live in support/https_api.py: the three-server suite runs the same ones against each
app server (tests/e2e_multihost/test_api_on_both_app_servers.py).
"""

# The imported tests are this module's tests: pytest collects them here.

from __future__ import annotations

from support.https_api import *  # noqa: F403 - every test of support/https_api.py, in order
