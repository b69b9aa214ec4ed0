"""The deployed site seen from outside the server, over HTTPS, as a client would see it.

The tests live in support/https_api.py: the three-server suite runs the same ones against each
app server (tests/e2e_multihost/test_api_on_both_app_servers.py).
"""

# The imported tests are this module's tests: pytest collects them here.
# ruff: noqa: F401

from __future__ import annotations

# In the order they run (pytest collects a module's tests in the order its names were bound).
# isort: off
from support.https_api import (
    test_probes_answer_over_https,
    test_security_headers_and_request_id,
    test_api_flow_register_token_post_comment_delete,
    test_http_redirects_to_https,
    test_unknown_host_gets_no_answer_on_http,
    test_unknown_host_tls_handshake_is_rejected,
    test_only_tls12_and_tls13,
    test_static_files_come_from_nginx_with_long_cache,
    test_admin_login_page_loads,
    test_swagger_ui_loads_its_local_assets,
    test_auth_endpoints_are_rate_limited_by_nginx,
    test_a_body_over_nginx_limit_is_a_json_413,
)

# isort: on
