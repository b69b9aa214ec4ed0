"""Loads a small demo data set. Safe to run again: it only adds what is missing."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from board.models import Comment, Post, Tag

DEMO_POSTS = [
    ("alice", "Welcome to the board", "Say hello below.", ["welcome", "meta"]),
    (
        "bob",
        "Django tips",
        "select_related for foreign keys, prefetch_related for many.",
        ["django"],
    ),
    ("alice", "Soft delete", "Deleted rows stay in the database; the API hides them.", ["django"]),
]
DEMO_COMMENTS = [
    ("Welcome to the board", "bob", "Hello!"),
    ("Django tips", "alice", "And annotate counts instead of counting per row."),
]


class Command(BaseCommand):
    help = "Create demo users (no usable password), posts, tags and comments if missing."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        users = {}
        for username in ("alice", "bob"):
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            users[username] = user
        created_posts = 0
        for username, title, content, tags in DEMO_POSTS:
            post, created = Post.objects.get_or_create(
                title=title, author=users[username], defaults={"content": content}
            )
            if created:
                created_posts += 1
                post.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
        for title, username, content in DEMO_COMMENTS:
            post = Post.objects.filter(title=title).first()
            if post is not None:
                Comment.objects.get_or_create(post=post, author=users[username], content=content)
        self.stdout.write(f"Demo data ready ({created_posts} posts added).")
