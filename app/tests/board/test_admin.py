import pytest
from django.urls import reverse

from board.models import Comment, Post
from tests.factories import CommentFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_lists_deleted_rows(staff):
    post = PostFactory(title="Gone but kept")
    post.soft_delete()
    comment = CommentFactory()
    comment.soft_delete()
    assert "Gone but kept" in staff.get(reverse("admin:board_post_changelist")).text
    assert staff.get(reverse("admin:board_post_change", args=[post.pk])).status_code == 200
    assert staff.get(reverse("admin:board_comment_change", args=[comment.pk])).status_code == 200


def test_admin_restores_a_deleted_post(staff):
    post = PostFactory()
    post.soft_delete()
    response = staff.post(
        reverse("admin:board_post_changelist"),
        {"action": "restore_selected", "_selected_action": [post.pk]},
    )
    assert response.status_code == 302
    assert Post.objects.filter(pk=post.pk).exists()


def test_admin_cannot_hard_delete(staff):
    post = PostFactory()
    assert staff.get(reverse("admin:board_post_delete", args=[post.pk])).status_code == 403


def test_admin_login_page_loads(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert 'name="password"' in response.text


def test_admin_soft_delete_and_restore_set_deleted_at(staff):
    post = PostFactory()
    url = reverse("admin:board_post_changelist")
    staff.post(url, {"action": "soft_delete_selected", "_selected_action": [post.pk]})
    post.refresh_from_db()
    assert post.is_deleted and post.deleted_at is not None
    staff.post(url, {"action": "restore_selected", "_selected_action": [post.pk]})
    post.refresh_from_db()
    assert not post.is_deleted and post.deleted_at is None


def test_admin_form_cannot_flip_is_deleted_alone(staff):
    post = PostFactory()
    response = staff.post(
        reverse("admin:board_post_change", args=[post.pk]),
        {
            "author": post.author_id,
            "title": post.title,
            "content": post.content,
            "is_deleted": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    post.refresh_from_db()
    assert not post.is_deleted and post.deleted_at is None


def test_admin_refuses_a_reply_on_another_post(staff):
    parent = CommentFactory()
    elsewhere = PostFactory()
    response = staff.post(
        reverse("admin:board_comment_add"),
        {
            "post": elsewhere.pk,
            "author": parent.author_id,
            "parent": parent.pk,
            "content": "misfiled",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "The parent comment belongs to another post." in response.text
    assert not Comment.all_objects.filter(content="misfiled").exists()
