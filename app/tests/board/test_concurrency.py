"""Racing writes on two real database connections (PostgreSQL: see tests/conftest.py).

One thread holds an uncommitted soft delete of a post (as a DELETE request in flight would) while
the other sends a request through the API; the held transaction commits a moment later.
"""

import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from board.models import Comment, Post
from tests.conftest import client_for
from tests.factories import CommentFactory, PostFactory

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def _race(row, request):
    """Soft-delete `row` in a held transaction while `request()` runs; returns its response."""
    deleted, answer = threading.Event(), {}

    def holder():
        try:
            with transaction.atomic():
                type(row).all_objects.get(pk=row.pk).soft_delete()  # what services call
                deleted.set()
                # Long enough for the request to reach its UPDATE and wait on the row lock.
                threading.Event().wait(1.0)
        finally:
            connection.close()

    def requester():
        try:
            deleted.wait(10)
            answer["response"] = request()
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=requester)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answer["response"]


def test_the_second_of_two_concurrent_deletes_is_404():
    post = PostFactory()
    client = client_for(post.author)
    response = _race(post, lambda: client.delete(reverse("post-detail", args=[post.pk])))
    assert response.status_code == 404
    stored = Post.all_objects.get(pk=post.pk)
    assert stored.is_deleted and stored.deleted_at is not None


def test_a_patch_racing_a_delete_does_not_undelete_the_post():
    post = PostFactory(title="before")
    client = client_for(post.author)
    response = _race(
        post, lambda: client.patch(reverse("post-detail", args=[post.pk]), {"title": "after"})
    )
    assert response.status_code == 404
    stored = Post.all_objects.get(pk=post.pk)
    assert stored.is_deleted, "the PATCH resurrected a deleted post"
    assert stored.title == "before"


def test_a_comment_patch_racing_a_delete_does_not_undelete_it():
    comment = CommentFactory(content="before")
    client = client_for(comment.author)
    response = _race(
        comment,
        lambda: client.patch(reverse("comment-detail", args=[comment.pk]), {"content": "after"}),
    )
    assert response.status_code == 404
    stored = Comment.all_objects.get(pk=comment.pk)
    assert stored.is_deleted and stored.content == "before"
