"""The single-server API suite (tests/e2e/test_https_api.py), run against each app server, and
what two app servers share: one database, so a post written on one is read on the other."""

from __future__ import annotations

import secrets
import time

import pytest
from e2e.test_https_api import *  # noqa: F403 - the suite's tests, collected here once per app server

from .conftest import APP_SERVERS


@pytest.fixture(scope="module", params=APP_SERVERS)
def client(request, clients):
    return clients[request.param]


def _auth_call(client, path: str, body: dict):
    """A POST to an auth endpoint. The API suite before it, run on both servers from the
    controller's one address, may have spent this minute's auth rate: wait out the app's 429 as
    its Retry-After says (a few times at most)."""
    for _ in range(3):
        response = client.request(path, method="POST", json_body=body)
        if response.status != 429:
            break
        time.sleep(int(response.header("Retry-After") or 5) + 1)
    return response


def write_on_one_read_on_the_other(one, other, title: str) -> tuple[int, str]:
    """Register on one app server, take a token on the other, post on the first and read the post
    on the second. Returns the post's id and the access token."""
    username, password = f"mh_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    reg = _auth_call(
        one,
        "/api/v1/auth/register/",
        {"username": username, "password": password, "email": f"{username}@example.com"},
    )
    assert reg.status == 201, reg.body
    # A token issued by one server is good on the other: one SECRET_KEY, one user table.
    tok = _auth_call(other, "/api/v1/auth/token/", {"username": username, "password": password})
    assert tok.status == 200, tok.body
    access = tok.json()["access"]
    post = one.request(
        "/api/v1/posts/",
        method="POST",
        token=access,
        json_body={"title": title, "content": "Written on one app server, read on the other."},
    )
    assert post.status == 201, post.body
    post_id = post.json()["id"]
    seen = other.request(f"/api/v1/posts/{post_id}/")
    assert seen.status == 200 and seen.json()["title"] == title, seen.body
    return post_id, access


def test_a_post_written_on_one_app_server_is_read_and_deleted_on_the_other(clients):
    one, other = clients["app1"], clients["app2"]
    post_id, access = write_on_one_read_on_the_other(one, other, "Written on app1")
    deleted = other.request(f"/api/v1/posts/{post_id}/", method="DELETE", token=access)
    assert deleted.status == 204, deleted.body
    assert one.request(f"/api/v1/posts/{post_id}/").status == 404
