import pytest
from django.urls import reverse

from board.models import Post
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
