"""Loads a small demo data set through the services. Safe to run again: it only adds what is
missing, and never brings back a demo row someone deleted."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services as accounts_services
from board import services
from board.models import Comment, Post

DEMO_USERS = ("alice", "bob")
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
# (author of the post, its title, commenter, content)
DEMO_COMMENTS = [
    ("alice", "Welcome to the board", "bob", "Hello!"),
    ("bob", "Django tips", "alice", "And annotate counts instead of counting per row."),
]


class Command(BaseCommand):
    help = "Create demo users (no usable password), posts, tags and comments if missing."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        users = {}
        for username in DEMO_USERS:
            user = User.objects.filter(username__iexact=username).first()
            if user is None:
                user = accounts_services.user_register(
                    username=username, password=None, email=f"{username}@example.com"
                )
            users[username] = user
        posts, created_posts = {}, 0
        for username, title, content, tags in DEMO_POSTS:
            # all_objects: a demo post someone deleted stays deleted.
            post = Post.all_objects.filter(author=users[username], title=title).first()
            if post is None:
                post = services.post_create(
                    author=users[username], title=title, content=content, tags=tags
                )
                created_posts += 1
            posts[(username, title)] = post
        for post_author, title, username, content in DEMO_COMMENTS:
            post = posts[(post_author, title)]
            exists = Comment.all_objects.filter(
                post=post, author=users[username], content=content
            ).exists()
            if not exists and not post.is_deleted:
                services.comment_create(post=post, author=users[username], content=content)
        self.stdout.write(f"Demo data ready ({created_posts} posts added).")
