"""The JSON parser refuses bodies over the size limit (413) and pathological nesting (400)."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from board.models import Post
from core.parsers import MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db


def _post_raw(client, body: str):
    return client.post(reverse("post-list"), data=body, content_type="application/json")


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_pathological_nesting_is_a_400_not_a_500(author_client, opener):
    # 100,000 levels: the stdlib decoder would raise RecursionError.
    response = _post_raw(author_client, opener * 100_000)
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]


def test_nesting_just_over_the_limit_is_refused(author_client):
    value = "x"
    for _ in range(MAX_JSON_DEPTH):
        value = [value]
    response = _post_raw(author_client, json.dumps({"title": value}))
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]


def test_the_inputs_of_the_api_nest_well_within_the_limit(author_client):
    body = {"title": "t", "content": "c", "tags": ["a", "b"]}
    assert _post_raw(author_client, json.dumps(body)).status_code == 201


def test_a_body_over_the_limit_is_a_json_413(author_client):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"title": "big", "content": "x" * limit})
    response = _post_raw(author_client, body)
    assert response.status_code == 413
    assert response.json() == {"detail": f"Request body too large: at most {limit} bytes."}
    assert not Post.objects.exists()


def test_the_limit_is_nginx_client_max_body_size():
    """One number: the app's default is the nginx role's default, read from its defaults file."""
    from pathlib import Path

    import yaml

    defaults = Path(settings.BASE_DIR).parent / "deploy/roles/nginx/defaults/main.yml"
    nginx_size = yaml.safe_load(defaults.read_text())["nginx_client_max_body_size"]
    assert nginx_size == settings.REQUEST_BODY_MAX
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
