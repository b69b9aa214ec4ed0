"""Hand-written floors for the bench: the API's JSON, built from values() and encoded by orjson.

Each view answers exactly what its API twin answers (the bench checks byte equality before it
measures), with the least work Django allows: no serializer, no DRF request/response cycle, no
model instances. Only the first page (no cursor) is served; the bench measures page 1.
Throttling and authentication are left out on purpose: the floor is what a page costs at least.
"""

from base64 import b64encode
from collections import defaultdict
from urllib.parse import urlencode

import orjson
from django.http import Http404, HttpResponse
from django.urls import reverse
from rest_framework.utils.urls import replace_query_param

from board.models import Comment, Post
from board.selectors import live_comment_count

PAGE_SIZE, MAX_PAGE_SIZE = 20, 100
POST_FIELDS = (
    "post_no",
    "title",
    "content",
    "author_id",
    "author__username",
    "author__is_active",
    "created_at",
    "updated_at",
)


def _json(data) -> HttpResponse:
    # OPT_UTC_Z: "...Z" like DRF's DateTimeField; orjson writes compact UTF-8 like JSONRenderer.
    body = orjson.dumps(data, option=orjson.OPT_UTC_Z)
    return HttpResponse(body, content_type="application/json")


def _author(row, prefix="author"):
    if row[f"{prefix}_id"] is None or not row[f"{prefix}__is_active"]:
        return None
    return {"id": row[f"{prefix}_id"], "username": row[f"{prefix}__username"]}


def _page_size(request) -> int:
    try:
        size = int(request.GET.get("page_size", PAGE_SIZE))
    except ValueError:
        return PAGE_SIZE
    return min(size, MAX_PAGE_SIZE) if size > 0 else PAGE_SIZE


def _next_link(request, api_path, row, pk_field):
    """The cursor link DRF's CursorPagination gives after `row`: position "created_at|pk"."""
    position = f"{row['created_at'].isoformat()}|{row[pk_field]}"
    cursor = b64encode(urlencode({"p": position}).encode("ascii")).decode("ascii")
    url = request.build_absolute_uri(api_path)
    if request.META.get("QUERY_STRING"):
        url += "?" + request.META["QUERY_STRING"]
    return replace_query_param(url, "cursor", cursor)


def _posts(queryset):
    rows = list(
        queryset.annotate(comment_count=live_comment_count()).values(*POST_FIELDS, "comment_count")
    )
    tags = defaultdict(list)
    through = Post.tags.through.objects.filter(post_id__in=[r["post_no"] for r in rows])
    for post_id, name in through.values_list("post_id", "tag__name"):
        tags[post_id].append(name)
    return rows, [
        {
            "id": r["post_no"],
            "title": r["title"],
            "content": r["content"],
            "author": _author(r),
            "tags": sorted(tags[r["post_no"]]),
            "comment_count": r["comment_count"],
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]


def post_list(request):
    size = _page_size(request)
    rows, posts = _posts(Post.objects.order_by("-created_at", "-post_no")[: size + 1])
    following = len(posts) > size
    return _json(
        {
            "next": _next_link(request, reverse("post-list"), rows[size - 1], "post_no")
            if following
            else None,
            "previous": None,
            "results": posts[:size],
        }
    )


def post_detail(request, pk):
    _, posts = _posts(Post.objects.filter(pk=pk))
    if not posts:
        raise Http404
    return _json(posts[0])


def comment_list(request, pk):
    if not Post.objects.filter(pk=pk).exists():
        raise Http404
    size = _page_size(request)
    rows = list(
        Comment.objects.filter(post_id=pk)
        .order_by("created_at", "comment_no")
        .values(
            "comment_no",
            "post_id",
            "parent_id",
            "parent__is_deleted",
            "author_id",
            "author__username",
            "author__is_active",
            "content",
            "created_at",
            "updated_at",
        )[: size + 1]
    )
    comments = [
        {
            "id": r["comment_no"],
            "post": r["post_id"],
            "parent": r["parent_id"] if r["parent_id"] and not r["parent__is_deleted"] else None,
            "author": _author(r),
            "content": r["content"],
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
        }
        for r in rows[:size]
    ]
    api_path = reverse("post-comments", kwargs={"post_pk": pk})
    return _json(
        {
            "next": _next_link(request, api_path, rows[size - 1], "comment_no")
            if len(rows) > size
            else None,
            "previous": None,
            "results": comments,
        }
    )
