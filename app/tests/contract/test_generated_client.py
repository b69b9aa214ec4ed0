"""A typed client generated from the live schema (openapi-python-client) walks the README's
walk-through: every call parses into the model the schema promises, errors included."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.wsgi import get_wsgi_application
from django.urls import reverse

PACKAGE = "board_api_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from rest_framework.test import APIClient

    work = tmp_path_factory.mktemp("client")
    response = APIClient().get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    (work / "schema.json").write_text(json.dumps(response.json()))
    (work / "config.yml").write_text("post_hooks: []\n")  # no formatter run: not under test
    subprocess.run(  # noqa: S603 - fixed argv
        [GENERATOR, "generate", "--path", work / "schema.json", "--meta", "none"]
        + ["--output-path", work / PACKAGE, "--config", work / "config.yml"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def _api(name):
    return importlib.import_module(f"{PACKAGE}.api.v1.{name}")


@pytest.mark.django_db
def test_the_readme_walk_through_with_a_generated_client(generated):
    from board_api_client import AuthenticatedClient, Client
    from board_api_client.models import (
        CommentInputRequest,
        Error,
        PaginatedPostOutputList,
        PostInputRequest,
        PostOutput,
        RegisterInputRequest,
        RegisterOutput,
        TokenObtainRequest,
        TokenPair,
        TokenRefreshOfLiveUserRequest,
    )

    # In process, through Django's WSGI handler; undocumented statuses raise.
    options = {
        "base_url": "http://testserver",
        "raise_on_unexpected_status": True,
        "httpx_args": {"transport": httpx.WSGITransport(app=get_wsgi_application())},
    }
    anonymous = Client(**options)
    credentials = {"username": "ada", "password": "correct-horse-battery-staple"}

    user = _api("v1_auth_register_create").sync(
        client=anonymous, body=RegisterInputRequest(**credentials)
    )
    assert isinstance(user, RegisterOutput)
    assert user.username == "ada"

    pair = _api("v1_auth_token_create").sync(
        client=anonymous, body=TokenObtainRequest(**credentials)
    )
    assert isinstance(pair, TokenPair)
    ada = AuthenticatedClient(token=pair.access, **options)

    post = _api("v1_posts_create").sync(
        client=ada, body=PostInputRequest(title="Hello", content="First post", tags=["intro"])
    )
    assert isinstance(post, PostOutput)
    assert post.tags == ["intro"]
    assert post.author.username == "ada"

    comment = _api("v1_posts_comments_create").sync(
        post.id, client=ada, body=CommentInputRequest(content="First comment")
    )
    assert comment.post == post.id

    # Refresh: a new pair; the used refresh token is refused afterwards.
    refreshed = _api("v1_auth_token_refresh_create").sync(
        client=anonymous, body=TokenRefreshOfLiveUserRequest(refresh=pair.refresh)
    )
    assert isinstance(refreshed, TokenPair)
    again = _api("v1_auth_token_refresh_create").sync(
        client=anonymous, body=TokenRefreshOfLiveUserRequest(refresh=pair.refresh)
    )
    assert isinstance(again, Error)
    ada = AuthenticatedClient(token=refreshed.access, **options)

    page = _api("v1_posts_list").sync(client=anonymous, page_size=10)
    assert isinstance(page, PaginatedPostOutputList)
    assert [p.id for p in page.results] == [post.id]
    assert page.results[0].comment_count == 1

    deleted = _api("v1_posts_destroy").sync_detailed(post.id, client=ada)
    assert deleted.status_code == 204

    gone = _api("v1_posts_retrieve").sync_detailed(post.id, client=anonymous)
    assert gone.status_code == 404
    assert isinstance(gone.parsed, Error)
    assert gone.parsed.detail == "No Post matches the given query."

    invalid = _api("v1_posts_create").sync_detailed(
        client=ada, body=PostInputRequest(title="", content="x")
    )
    assert invalid.status_code == 400
    assert isinstance(invalid.parsed, Error)
    assert "title" in invalid.parsed.additional_properties
