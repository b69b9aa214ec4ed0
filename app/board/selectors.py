"""Read paths: each builds its query once, so a page costs a fixed number of queries."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce

from board.models import Comment, Post, Tag


def post_list():
    """Live posts with author (join), tags (one prefetch) and live comment count (subquery)."""
    live_comments = (
        Comment.all_objects.filter(post=OuterRef("pk"), is_deleted=False)
        .order_by()
        .values("post")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Post.objects.select_related("author")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(comment_count=Coalesce(Subquery(live_comments, output_field=IntegerField()), 0))
    )


def comment_list():
    """Live comments of live posts, with author and parent joined in."""
    return Comment.objects.select_related("author", "parent")
