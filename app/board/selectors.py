"""Read paths: each builds its query once, so a page costs a fixed number of queries.

Profiled (GET /api/v1/posts/?page_size=20, cProfile, PostgreSQL): a prefetch of Tag instances
(a related manager and model per tag, per post) and full user rows (password hash, email, ...)
were most of the ORM's share. So authors carry only what the API shows, and a page's tag names
come from one flat query (with_tag_names).
"""

import functools
from collections import defaultdict

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from board.models import Comment, Post

# What an author reads as (accounts.serializers.live_author): the rest of the row stays behind.
AUTHOR_COLUMNS = ("author__username", "author__is_active")
_POST_COLUMNS = tuple(field.name for field in Post._meta.concrete_fields)
_COMMENT_COLUMNS = tuple(field.name for field in Comment._meta.concrete_fields)


def post_list():
    """Live posts with author (join) and live comment count (subquery); tags: with_tag_names."""
    # A fresh clone of a query built (and resolved) once per process: resolving the annotation's
    # subquery was a millisecond of every request.
    return _post_list_query().all()


def live_comment_count():
    """A post's live comments, counted by a correlated subquery (0 when it has none)."""
    live_comments = (
        Comment.all_objects.filter(post=OuterRef("pk"), is_deleted=False)
        .order_by()
        .values("post")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(live_comments, output_field=IntegerField()), 0)


@functools.cache
def _post_list_query():
    return (
        Post.objects.select_related("author")
        .only(*_POST_COLUMNS, *AUTHOR_COLUMNS)
        .annotate(comment_count=live_comment_count())
    )


# A post list row (post_rows): the columns the API shows, without building two models per row.
POST_ROW = (
    "post_no",
    "title",
    "content",
    "author_id",
    *AUTHOR_COLUMNS,
    "comment_count",
    "created_at",
    "updated_at",
)


def post_rows(queryset):
    """A post_list() queryset (filtered) as rows: a page of 100 built 200 model instances."""
    return queryset.values(*POST_ROW)


# A comment list row (comment_rows): the same idea for a post's comments.
COMMENT_ROW = (
    "comment_no",
    "post_id",
    "parent_id",
    "parent__is_deleted",
    "author_id",
    *AUTHOR_COLUMNS,
    "content",
    "created_at",
    "updated_at",
)


def comment_rows(post_pk):
    """A live post's live comments as rows: no Comment, User and parent instance per row."""
    return _comment_rows_query().filter(post_id=post_pk)


@functools.cache
def _comment_rows_query():
    # Built once per process, like _post_list_query: a page of comments spent a fifth of its
    # time building this query (the join, the deferred columns and the managers' filters).
    return comment_list().values(*COMMENT_ROW)


def live_post(pk):
    """The live post `pk` with only its key loaded (a comment list needs nothing else), or 404."""
    return get_object_or_404(_live_post_keys(), pk=pk)


@functools.cache
def _live_post_keys():
    return Post.objects.only("pk")


def with_tag_names(posts):
    """Sets `tag_names` (sorted) on each post or post row, from one query for all of them."""
    posts = list(posts)
    if not posts:
        return posts
    rows = isinstance(posts[0], dict)
    keys = [post["post_no"] if rows else post.pk for post in posts]
    names = defaultdict(list)
    links = Post.tags.through.objects.filter(post_id__in=keys)
    for post_id, name in links.values_list("post_id", "tag__name"):
        names[post_id].append(name)
    for key, post in zip(keys, posts, strict=True):
        # Sorted here, not by the database: the same order whatever its collation.
        tag_names = sorted(names.get(key, ()))
        if rows:
            post["tag_names"] = tag_names
        else:
            post.tag_names = tag_names
    return posts


def comment_list():
    """Live comments of live posts, with author and parent (whether it is live) joined in."""
    return Comment.objects.select_related("author", "parent").only(
        *_COMMENT_COLUMNS, *AUTHOR_COLUMNS, "parent__is_deleted"
    )
