"""Cursor pagination never skips or repeats a row, and a tampered cursor is a JSON 404."""

import base64
import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from board.models import Comment, Post
from tests.factories import CommentFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

SAME_INSTANT = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def _walk(api, url, link):
    """Every id on every page, following `link` ("next" or "previous") from `url`."""
    pages, seen = 0, []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [item["id"] for item in body["results"]]
        url, pages = body[link], pages + 1
        assert pages < 50, "pagination does not end"
    return seen


def _last_page_url(api, url):
    while True:
        body = api.get(url).json()
        if not body["next"]:
            return url
        url = body["next"]


@pytest.mark.parametrize("ordering", ["", "&ordering=created_at", "&ordering=-created_at"])
def test_posts_created_at_the_same_instant_are_each_listed_once_both_ways(api, ordering):
    posts = PostFactory.create_batch(23)
    Post.all_objects.update(created_at=SAME_INSTANT)  # as a bulk import or fixture would
    ids = sorted(p.pk for p in posts)
    first = reverse("post-list") + "?page_size=5" + ordering

    forward = _walk(api, first, "next")
    assert sorted(forward) == ids and len(forward) == len(ids), forward
    expected_order = ids if ordering == "&ordering=created_at" else ids[::-1]
    assert forward == expected_order

    # Backwards from the last page: the same rows, each once.
    backward = []
    url = _last_page_url(api, first)
    while url:
        body = api.get(url).json()
        backward = [item["id"] for item in body["results"]] + backward
        url = body["previous"]
    assert backward == forward


@pytest.mark.parametrize("ordering", ["", "&ordering=-created_at"])
def test_comments_created_at_the_same_instant_are_each_listed_once_both_ways(api, ordering):
    post = PostFactory()
    comments = CommentFactory.create_batch(17, post=post)
    Comment.all_objects.update(created_at=SAME_INSTANT)
    ids = sorted(c.pk for c in comments)
    first = reverse("post-comments", args=[post.pk]) + "?page_size=4" + ordering
    forward = _walk(api, first, "next")
    assert forward == (ids[::-1] if ordering else ids)
    backward = []
    url = _last_page_url(api, first)
    while url:
        body = api.get(url).json()
        backward = [item["id"] for item in body["results"]] + backward
        url = body["previous"]
    assert backward == forward


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MALFORMED_CURSORS = [
    "cD14",  # p=x: a position that is no timestamp
    "!!!not-base64!!!",
    "cD",  # truncated base64
    base64.b64encode(b"\xff\xfe\x00").decode(),  # not ASCII
    _b64("o=-1"),
    _b64("o=x"),
    _b64("r=x"),
    _b64("p=99999999999999999999999999"),
    _b64("p=99999-01-01T00:00:00+00:00"),
    _b64("p=0001-01-01T00:00:00+14:00"),  # before the first representable instant in UTC
    _b64("p=2026-13-45T99:99:99"),
    _b64("p=\x00"),
    _b64("p=" + "9" * 5000),
    _b64("p=2026-01-01T00:00:00Z|x"),  # a primary key that is no number
    _b64("p=2026-01-01T00:00:00Z|99999999999999999999999"),
    _b64("p=2026-01-01T00:00:00Z|-1"),
]


@pytest.mark.parametrize("cursor", MALFORMED_CURSORS)
@pytest.mark.parametrize("list_name", ["post-list", "post-comments"])
def test_malformed_cursor_is_a_json_404(api, cursor, list_name):
    post = PostFactory()
    CommentFactory(post=post)
    url = reverse(list_name, args=[post.pk] if list_name == "post-comments" else [])
    response = api.get(url, {"cursor": cursor})
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "Invalid cursor"}


def test_a_huge_offset_is_capped_not_an_error(api):
    PostFactory()
    cursor = _b64("o=999999999999999999999&p=2026-01-01T00:00:00Z|1")
    response = api.get(reverse("post-list"), {"cursor": cursor})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_valid_cursor_still_works(api):
    PostFactory.create_batch(3)
    next_url = api.get(reverse("post-list"), {"page_size": 2}).json()["next"]
    assert len(api.get(next_url).json()["results"]) == 1


@pytest.mark.postgresql
def test_a_page_deep_in_the_table_starts_the_index_scan_at_its_cursor(api):
    """The keyset filter bounds the ordering's column itself, so the index scan begins at the
    position instead of walking (and filtering) every newer row: a cursor in the middle of the
    table costs what page 1 costs."""
    author = UserFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO post (author, title, content, is_deleted, created_at, updated_at) "
            "SELECT %s, 'post ' || i, 'Words.', false, now() - i * interval '1 second', now() "
            "FROM generate_series(1, 50000) AS i",
            [author.pk],
        )
        cursor.execute("ANALYZE post")
    next_url = api.get(reverse("post-list")).json()["next"]
    with CaptureQueriesContext(connection) as captured:
        assert api.get(next_url).status_code == 200
    [sql] = [q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "post_live_created_idx" in plan, plan
    assert re.search(r"Index Cond: \(.*created_at <= ", plan), plan


@pytest.mark.parametrize("page_size", ["0", "-1", "101", "abc", "1.5", "²", ""])
def test_a_page_size_out_of_its_bounds_is_a_400(api, page_size):
    response = api.get(reverse("post-list"), {"page_size": page_size})
    assert response.status_code == 400
    assert response.json() == {"page_size": ["An integer from 1 to 100."]}


@pytest.mark.parametrize("name", ["post-list", "post-comments"])
@pytest.mark.parametrize("ordering", ["title", "pk", "created_at,title", "", "-"])
def test_an_unknown_ordering_is_a_400(api, name, ordering):
    args = [PostFactory().pk] if name == "post-comments" else []
    response = api.get(reverse(name, args=args), {"ordering": ordering})
    assert response.status_code == 400
    assert response.json() == {"ordering": ["One of: created_at, -created_at."]}
