import pytest

from board.models import Comment, Post, Tag
from tests.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def test_all_objects_is_the_default_manager():
    assert Post._default_manager is Post.all_objects
    assert Comment._default_manager is Comment.all_objects


def test_soft_delete_hides_from_objects_only():
    post = PostFactory()
    post.soft_delete()
    assert not Post.objects.filter(pk=post.pk).exists()
    assert Post.all_objects.filter(pk=post.pk).exists()
    post.restore()
    assert Post.objects.filter(pk=post.pk).exists()


def test_comments_of_a_deleted_post_are_hidden_by_objects():
    comment = CommentFactory()
    comment.post.soft_delete()
    assert not Comment.objects.filter(pk=comment.pk).exists()
    assert Comment.all_objects.filter(pk=comment.pk, is_deleted=False).exists()


def test_tag_names_are_stored_lowercase():
    assert Tag.objects.create(name="  Django ").name == "django"


def test_tables_keep_the_tutorial_shape():
    assert Post._meta.db_table == "post"
    assert Post._meta.pk.name == "post_no"
    assert Post._meta.get_field("author").db_column == "author"
    assert Comment._meta.db_table == "comment"
    assert Comment._meta.pk.name == "comment_no"
