"""The single-server API suite (tests/e2e/test_https_api.py), run against each app server, and
what two app servers share: one database, so a post written on one is read on the other."""

# The imported tests (support/https_api.py, the single-server suite's) are this module's tests:
# pytest collects them here, once per app server (the `client` fixture below).
# ruff: noqa: F401

from __future__ import annotations

import pytest

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

from .cluster import APP_SERVERS, write_on_one_read_on_the_other


@pytest.fixture(scope="module", params=APP_SERVERS)
def client(request, clients):
    return clients[request.param]


def test_a_post_written_on_one_app_server_is_read_and_deleted_on_the_other(clients):
    one, other = clients["app1"], clients["app2"]
    post_id, access = write_on_one_read_on_the_other(one, other, "Written on app1")
    deleted = other.request(f"/api/v1/posts/{post_id}/", method="DELETE", token=access)
    assert deleted.status == 204, deleted.body
    assert one.request(f"/api/v1/posts/{post_id}/").status == 404
