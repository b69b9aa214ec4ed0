import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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


def test_a_reply_must_be_on_its_parents_post_in_the_model():
    parent = CommentFactory()
    elsewhere = PostFactory()
    reply = Comment(post=elsewhere, author=parent.author, content="x", parent=parent)
    with pytest.raises(ValidationError) as excinfo:
        reply.full_clean()
    assert "parent" in excinfo.value.message_dict


def test_tag_names_are_lowercase_in_the_database():
    # bulk_create skips save(), which lowercases: the check constraint still holds.
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.bulk_create([Tag(name="Django")])


def test_deleted_at_follows_is_deleted_in_the_database():
    post = PostFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.all_objects.filter(pk=post.pk).update(is_deleted=True)
