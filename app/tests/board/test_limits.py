"""Hard limits on what a post or comment holds, in the serializers, the services and the
database alike."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from board import services
from board.models import (
    COMMENT_CONTENT_MAX_LENGTH,
    POST_CONTENT_MAX_LENGTH,
    TAGS_PER_POST_MAX,
    Comment,
    Post,
)
from tests.factories import CommentFactory, PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_post_content_over_the_limit_is_a_400(author_client):
    body = {"title": "t", "content": "x" * (POST_CONTENT_MAX_LENGTH + 1)}
    response = author_client.post(reverse("post-list"), body)
    assert response.status_code == 400
    assert "content" in response.json()
    assert not Post.objects.exists()
    body["content"] = "é" * POST_CONTENT_MAX_LENGTH  # characters, not bytes
    assert author_client.post(reverse("post-list"), body).status_code == 201


def test_comment_content_over_the_limit_is_a_400(author_client, user):
    post = PostFactory()
    too_long = "x" * (COMMENT_CONTENT_MAX_LENGTH + 1)
    url = reverse("post-comments", args=[post.pk])
    assert author_client.post(url, {"content": too_long}).status_code == 400
    comment = CommentFactory(post=post, author=user)
    response = author_client.patch(
        reverse("comment-detail", args=[comment.pk]), {"content": too_long}
    )
    assert response.status_code == 400
    assert not Comment.objects.filter(content=too_long).exists()


def test_the_services_refuse_what_the_serializers_refuse(user):
    post = PostFactory(author=user)
    with pytest.raises(ValidationError):
        services.post_update(post=post, content="x" * (POST_CONTENT_MAX_LENGTH + 1))
    with pytest.raises(ValidationError):
        services.post_update(post=post, tags=[f"t{i}" for i in range(TAGS_PER_POST_MAX + 1)])


def test_the_database_refuses_content_over_the_limit():
    post = PostFactory()
    comment = CommentFactory(post=post)
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.all_objects.filter(pk=post.pk).update(content="x" * (POST_CONTENT_MAX_LENGTH + 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.all_objects.filter(pk=comment.pk).update(
            content="x" * (COMMENT_CONTENT_MAX_LENGTH + 1)
        )


def test_the_database_refuses_a_tag_over_the_limit():
    tags = [TagFactory() for _ in range(TAGS_PER_POST_MAX + 1)]
    post = PostFactory(tags=tags[:TAGS_PER_POST_MAX])
    with pytest.raises(IntegrityError), transaction.atomic():
        post.tags.add(tags[-1])
    assert post.tags.count() == TAGS_PER_POST_MAX


@pytest.mark.postgresql
def test_the_constraints_are_validated_on_postgresql():
    """Added NOT VALID, then validated (migration 0005): existing rows were checked too."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, convalidated FROM pg_constraint WHERE conname LIKE '%content_length'"
        )
        assert dict(cursor.fetchall()) == {
            "post_content_length": True,
            "comment_content_length": True,
        }
