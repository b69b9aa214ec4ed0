import pytest
from django.core.management import call_command

from board.models import Comment, Post

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    counts = (Post.objects.count(), Comment.objects.count())
    assert counts[0] >= 3 and counts[1] >= 2
    call_command("seed_demo")
    assert (Post.objects.count(), Comment.objects.count()) == counts
