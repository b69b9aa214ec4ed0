"""The single-server API suite (tests/e2e/test_https_api.py), run against each app server, and
what two app servers share: one database, so a post written on one is read on the other."""

# The imported tests (support/https_api.py, the single-server suite's) are this module's tests:
# pytest collects them here, once per app server (the `client` fixture below).

from __future__ import annotations

import pytest

from .cluster import APP_SERVERS, write_on_one_read_on_the_other


# Defined before the imported suite, so it runs first: that suite's bursts on the auth endpoints
# spend the minute's auth rate of the controller's one address (both app servers count it
# together), and a registration after them would wait most of a minute for the next.
def test_a_post_written_on_one_app_server_is_read_and_deleted_on_the_other(clients):
    one, other = clients["app1"], clients["app2"]
    post_id, access = write_on_one_read_on_the_other(one, other, "Written on app1")
    deleted = other.request(f"/api/v1/posts/{post_id}/", method="DELETE", token=access)
    assert deleted.status == 204, deleted.body
    assert one.request(f"/api/v1/posts/{post_id}/").status == 404


from support.https_api import *  # noqa: E402, F403 - every test of support/https_api.py, in order


@pytest.fixture(scope="module", params=APP_SERVERS)
def client(request, clients):
    return clients[request.param]
