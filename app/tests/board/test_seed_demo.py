import pytest
from django.core.management import call_command

from board.models import Comment, Post
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    counts = (Post.objects.count(), Comment.objects.count())
    assert counts[0] >= 3 and counts[1] >= 2
    call_command("seed_demo")
    assert (Post.objects.count(), Comment.objects.count()) == counts


def test_seed_demo_through_services_never_restores_or_borrows_rows():
    stranger = UserFactory(username="stranger")
    # Someone else's post with a demo title must not get the demo comments.
    lookalike = PostFactory(author=stranger, title="Welcome to the board")
    call_command("seed_demo")
    assert not Comment.all_objects.filter(post=lookalike).exists()
    demo = Post.objects.get(title="Welcome to the board", author__username="alice")
    assert demo.tags.count() == 2 and demo.comments.count() == 1

    demo.soft_delete()
    Comment.objects.get(content__startswith="And annotate").soft_delete()
    counts = (Post.all_objects.count(), Comment.all_objects.count())
    call_command("seed_demo")
    call_command("seed_demo")
    assert (Post.all_objects.count(), Comment.all_objects.count()) == counts
    assert Post.all_objects.get(pk=demo.pk).is_deleted
    assert not Comment.objects.filter(content__startswith="And annotate").exists()
