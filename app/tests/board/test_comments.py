import pytest
from django.urls import reverse

from board.models import Comment
from tests.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db

COMMENT_FIELDS = {"id", "post", "parent", "author", "content", "created_at", "updated_at"}


def test_list_comments_of_a_post_oldest_first(api):
    post = PostFactory()
    first, second = CommentFactory(post=post), CommentFactory(post=post)
    CommentFactory()  # another post's
    CommentFactory(post=post).soft_delete()
    body = api.get(reverse("post-comments", args=[post.pk])).json()
    assert set(body) == {"next", "previous", "results"}
    assert [c["id"] for c in body["results"]] == [first.pk, second.pk]
    assert set(body["results"][0]) == COMMENT_FIELDS
    assert body["results"][0]["post"] == post.pk


def test_create_comment_and_reply(user, author_client):
    post = PostFactory()
    url = reverse("post-comments", args=[post.pk])
    top = author_client.post(url, {"content": "first"})
    assert top.status_code == 201
    assert top.json()["author"] == {"id": user.pk, "username": user.username}
    assert top.json()["parent"] is None

    reply = author_client.post(url, {"content": "reply", "parent": top.json()["id"]})
    assert reply.status_code == 201
    assert reply.json()["parent"] == top.json()["id"]


def test_parent_from_another_post_is_rejected(author_client):
    post, elsewhere = PostFactory(), CommentFactory()
    response = author_client.post(
        reverse("post-comments", args=[post.pk]), {"content": "x", "parent": elsewhere.pk}
    )
    assert response.status_code == 400
    assert "parent" in response.json()


@pytest.mark.parametrize("payload", [{}, {"content": ""}, {"content": "x", "parent": 999999}])
def test_comment_validation(author_client, payload):
    post = PostFactory()
    response = author_client.post(reverse("post-comments", args=[post.pk]), payload)
    assert response.status_code == 400


def test_commenting_needs_a_token(api):
    post = PostFactory()
    assert api.post(reverse("post-comments", args=[post.pk]), {"content": "x"}).status_code == 401


def test_comments_of_a_deleted_post_are_404(api, author_client):
    post = PostFactory()
    comment = CommentFactory(post=post)
    post.soft_delete()
    assert api.get(reverse("post-comments", args=[post.pk])).status_code == 404
    assert (
        author_client.post(reverse("post-comments", args=[post.pk]), {"content": "x"}).status_code
        == 404
    )
    assert api.get(reverse("comment-detail", args=[comment.pk])).status_code == 404
    # Restoring the post brings its comments back.
    post.restore()
    assert api.get(reverse("comment-detail", args=[comment.pk])).status_code == 200


def test_reply_to_a_deleted_parent_reads_null_but_keeps_the_reference(api):
    parent = CommentFactory()
    reply = CommentFactory(post=parent.post, parent=parent)
    parent.soft_delete()
    assert api.get(reverse("comment-detail", args=[reply.pk])).json()["parent"] is None
    assert Comment.all_objects.get(pk=reply.pk).parent_id == parent.pk


def test_cannot_reply_to_a_deleted_comment(author_client):
    parent = CommentFactory()
    parent.soft_delete()
    response = author_client.post(
        reverse("post-comments", args=[parent.post_id]), {"content": "x", "parent": parent.pk}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 401), ("author", 200), ("other", 403), ("staff", 403)],
)
def test_comment_edit_matrix(who, expected, user, clients):
    comment = CommentFactory(author=user)
    response = clients[who].patch(
        reverse("comment-detail", args=[comment.pk]), {"content": "edited"}
    )
    assert response.status_code == expected
    comment.refresh_from_db()
    assert (comment.content == "edited") is (expected == 200)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 401), ("author", 204), ("other", 403), ("staff", 204)],
)
def test_comment_delete_matrix(who, expected, user, clients):
    comment = CommentFactory(author=user)
    url = reverse("comment-detail", args=[comment.pk])
    assert clients[who].delete(url).status_code == expected
    comment.refresh_from_db()  # never removed
    assert comment.is_deleted is (expected == 204)
    assert (comment.deleted_at is not None) is (expected == 204)
    if expected == 204:
        assert clients["anonymous"].get(url).status_code == 404
        assert clients[who].delete(url).status_code == 404


def test_put_on_a_comment_is_405(user, author_client):
    comment = CommentFactory(author=user)
    response = author_client.put(reverse("comment-detail", args=[comment.pk]), {"content": "x"})
    assert response.status_code == 405
    assert "detail" in response.json()


def test_parent_cannot_be_changed(user, author_client):
    comment = CommentFactory(author=user)
    other = CommentFactory(post=comment.post)
    response = author_client.patch(
        reverse("comment-detail", args=[comment.pk]), {"parent": other.pk}
    )
    assert response.status_code == 400


def test_a_reply_to_a_deleted_parent_can_be_sent_back_as_it_reads(user, author_client):
    post = PostFactory()
    parent = CommentFactory(post=post)
    reply = CommentFactory(post=post, parent=parent, author=user)
    parent.soft_delete()
    url = reverse("comment-detail", args=[reply.pk])
    body = author_client.get(url).json()
    assert body["parent"] is None
    response = author_client.patch(url, {"content": "edited", "parent": body["parent"]})
    assert response.status_code == 200, response.json()
    assert response.json()["parent"] is None


def test_a_deleted_parent_id_and_a_missing_one_answer_alike(user, author_client):
    post = PostFactory()
    parent = CommentFactory(post=post)
    reply = CommentFactory(post=post, parent=parent, author=user)
    parent.soft_delete()
    url = reverse("comment-detail", args=[reply.pk])
    deleted = author_client.patch(url, {"parent": parent.pk})
    missing = author_client.patch(url, {"parent": parent.pk + 1000})
    assert deleted.status_code == missing.status_code == 400
    assert deleted.json()["parent"][0].replace(str(parent.pk), "N") == missing.json()["parent"][
        0
    ].replace(str(parent.pk + 1000), "N")
