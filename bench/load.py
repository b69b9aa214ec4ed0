"""Load the bench's data set with bulk_create: `python -m bench.load ROWS` (as the owner role).

ROWS posts by a few users, one per second going back from now (so pages and cursors walk real
timestamps), ROWS/2 comments, about one tag link per post over 50 tags named bt0..bt49, and a
post in the middle with a full page of comments for the comment-list figure. Prints the ids
the bench requests, as JSON.
"""

import json
import os
import sys
from datetime import timedelta

import django

BATCH = 10_000
TAGS = 50
USERS = 8


def main(rows: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from board.models import Comment, Post, Tag

    # Timestamps are the loader's: auto_now_add would give every row the same instant.
    for model in (Post, Comment):
        model._meta.get_field("created_at").auto_now_add = False
        model._meta.get_field("updated_at").auto_now = False

    User = get_user_model()
    users = [User(username=f"bench{i}", is_active=True) for i in range(USERS)]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)
    users = list(User.objects.order_by("pk"))
    tags = Tag.objects.bulk_create([Tag(name=f"bt{i}") for i in range(TAGS)])

    now = timezone.now()
    start = now - timedelta(seconds=rows + 10)
    through = Post.tags.through
    for first in range(0, rows, BATCH):
        with transaction.atomic():
            batch = []
            for i in range(first, min(first + BATCH, rows)):
                at = start + timedelta(seconds=i)
                batch.append(
                    Post(
                        author=users[i % USERS],
                        title=f"bench post {i}",
                        content=f"Body of bench post {i}: words about topic {i % 977} and more.",
                        created_at=at,
                        updated_at=at,
                    )
                )
            posts = Post.objects.bulk_create(batch)
            # About one tag per post: all but each 10th post have one, each 5th has a second.
            links = []
            for post in posts:
                n = post.pk
                if n % 10:
                    links.append(through(post_id=n, tag_id=tags[n % TAGS].pk))
                if n % 5 == 0:
                    second = (n + 1 + (n // 5) % (TAGS - 1)) % TAGS  # never n % TAGS
                    links.append(through(post_id=n, tag_id=tags[second].pk))
            through.objects.bulk_create(links)

    first_pk = Post.objects.order_by("pk").values_list("pk", flat=True)[:1][0]
    last_pk = Post.objects.order_by("-pk").values_list("pk", flat=True)[:1][0]
    middle = first_pk + rows // 2
    comments = rows // 2
    for first in range(0, comments, BATCH):
        with transaction.atomic():
            batch = []
            for i in range(first, min(first + BATCH, comments)):
                # Spread over the posts; the middle post gets the first 30 (a full page).
                post_id = middle if i < 30 else first_pk + (i * 2 + 1) % rows
                at = start + timedelta(seconds=(post_id - first_pk) + 1, microseconds=i)
                batch.append(
                    Comment(
                        post_id=post_id,
                        author=users[i % USERS],
                        content=f"Comment {i} of the bench.",
                        created_at=at,
                        updated_at=at,
                    )
                )
            Comment.objects.bulk_create(batch)

    with connection.cursor() as cursor:
        for table in ("post", "comment", through._meta.db_table, Tag._meta.db_table):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
    return {
        "rows": rows,
        "comments": comments,
        "tag_links": through.objects.count(),
        "first_pk": first_pk,
        "last_pk": last_pk,
        "detail_pk": middle,
        "comments_pk": middle,
        "tag": "bt3",
        "search": "bench post 777",
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
