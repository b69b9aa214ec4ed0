"""The write paths: changed fields only, live rows only, and the rules the models enforce."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from board import services
from board.models import Comment, Post, Tag
from tests.factories import CommentFactory, PostFactory, UserFactory

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
        assert services.post_soft_delete(post=post) is True
    (update,) = _updates(captured.captured_queries)
    assert '"is_deleted"' in update.split(" WHERE ")[1]
    assert services.post_soft_delete(post=Post.all_objects.get(pk=post.pk)) is False
    assert services.post_restore(post=post) is True
    assert services.post_restore(post=post) is False


def test_update_of_a_row_deleted_meanwhile_changes_nothing():
    post = PostFactory(title="kept")
    stale = Post.objects.get(pk=post.pk)
    services.post_soft_delete(post=post)
    assert services.post_update(post=stale, title="lost") is False
    stored = Post.all_objects.get(pk=post.pk)
    assert stored.is_deleted and stored.title == "kept"


def test_a_reply_must_be_on_its_parents_post_in_the_model():
    parent = CommentFactory()
    elsewhere = PostFactory()
    reply = Comment(post=elsewhere, author=parent.author, content="x", parent=parent)
    with pytest.raises(ValidationError) as excinfo:
        reply.full_clean()
    assert "parent" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        services.comment_create(post=elsewhere, author=parent.author, content="x", parent=parent)


def test_tag_names_are_lowercase_in_the_database():
    # bulk_create skips save(), which lowercases: the check constraint still holds.
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.bulk_create([Tag(name="Django")])
    assert [t.name for t in services.tags_named(["Django", " NEWS "])] == ["django", "news"]


def test_deleted_at_follows_is_deleted_in_the_database():
    post = PostFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.all_objects.filter(pk=post.pk).update(is_deleted=True)


def test_register_documents_only_id_and_username_in_its_response(api):
    schema = api.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/auth/register/"]["post"]
    ref = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    response_schema = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(response_schema["properties"]) == {"id", "username"}
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert set(request_schema["properties"]) == {"username", "password", "email"}


def test_seed_demo_through_services_never_restores_or_borrows_rows():
    from django.core.management import call_command

    stranger = UserFactory(username="stranger")
    # Someone else's post with a demo title must not get the demo comments.
    lookalike = PostFactory(author=stranger, title="Welcome to the board")
    call_command("seed_demo")
    assert not Comment.all_objects.filter(post=lookalike).exists()
    demo = Post.objects.get(title="Welcome to the board", author__username="alice")
    assert demo.tags.count() == 2 and demo.comments.count() == 1

    services.post_soft_delete(post=demo)
    services.comment_soft_delete(comment=Comment.objects.get(content__startswith="And annotate"))
    counts = (Post.all_objects.count(), Comment.all_objects.count())
    call_command("seed_demo")
    call_command("seed_demo")
    assert (Post.all_objects.count(), Comment.all_objects.count()) == counts
    assert Post.all_objects.get(pk=demo.pk).is_deleted
    assert not Comment.objects.filter(content__startswith="And annotate").exists()
