"""The write paths: changed fields only, live rows only, and the rules the models enforce."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from board import services
from board.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def _updates(queries):
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]


def test_a_patch_writes_only_the_changed_fields_of_a_live_row(user, author_client):
    post = PostFactory(author=user, title="old", content="same")
    with CaptureQueriesContext(connection) as captured:
        response = author_client.patch(
            reverse("post-detail", args=[post.pk]), {"title": "new", "content": "same"}
        )
    assert response.status_code == 200
    (update,) = _updates(captured.captured_queries)
    set_clause, where = update.split(" WHERE ")
    assert '"title"' in set_clause and '"updated_at"' in set_clause
    assert '"content"' not in set_clause and '"is_deleted"' not in set_clause
    assert '"is_deleted"' in where  # only a live row is updated


def test_soft_delete_is_a_conditional_update():
    post = PostFactory()
    with CaptureQueriesContext(connection) as captured:
        assert post.soft_delete() is True
    (update,) = _updates(captured.captured_queries)
    assert '"is_deleted"' in update.split(" WHERE ")[1]
    assert Post.all_objects.get(pk=post.pk).soft_delete() is False
    assert post.restore() is True
    assert post.restore() is False


def test_update_of_a_row_deleted_meanwhile_changes_nothing():
    post = PostFactory(title="kept")
    stale = Post.objects.get(pk=post.pk)
    services.post_soft_delete(post=post)
    assert services.post_update(post=stale, title="lost") is False
    stored = Post.all_objects.get(pk=post.pk)
    assert stored.is_deleted and stored.title == "kept"


def test_tags_named_lowercases_and_creates_missing_tags():
    assert [t.name for t in services.tags_named(["Django", " NEWS ", "django"])] == [
        "django",
        "news",
    ]


def test_register_documents_only_id_and_username_in_its_response(api):
    schema = api.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/auth/register/"]["post"]
    ref = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    response_schema = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(response_schema["properties"]) == {"id", "username"}
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert set(request_schema["properties"]) == {"username", "password", "email"}
