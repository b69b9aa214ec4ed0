"""Read paths cost a fixed number of queries, whatever the page size or the data behind it."""

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CommentFactory, PostFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_board():
    tags = [TagFactory() for _ in range(5)]
    authors = [UserFactory() for _ in range(5)]
    posts = []
    for i in range(120):
        post = PostFactory(author=authors[i % 5], tags=tags[: i % 5 + 1])
        posts.append(post)
    for post in posts[:30]:
        CommentFactory.create_batch(3, post=post, author=authors[0])
    return posts


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("page_size", [1, 100])
def test_post_list_queries_are_constant_and_never_count(api, busy_board, page_size):
    response, queries = _queries(api, reverse("post-list") + f"?page_size={page_size}")
    assert len(response.json()["results"]) == page_size
    # The page of posts (author joined, comment count as a subquery), and one query of tag names.
    assert len(queries) == 2, queries
    # Cursor pagination never counts the table (comment_count is a correlated subquery).
    assert not any(sql.lstrip().upper().startswith("SELECT COUNT(") for sql in queries)


def test_post_list_query_count_does_not_grow_with_page_size(api, busy_board):
    _, small = _queries(api, reverse("post-list") + "?page_size=1")
    _, large = _queries(api, reverse("post-list") + "?page_size=100")
    assert len(small) == len(large)


def test_post_detail_comment_list_and_comment_detail_are_constant(api, busy_board):
    post = busy_board[0]
    _, detail = _queries(api, reverse("post-detail", args=[post.pk]))
    assert len(detail) == 2, detail
    _, comments_small = _queries(api, reverse("post-comments", args=[post.pk]) + "?page_size=1")
    _, comments_all = _queries(api, reverse("post-comments", args=[post.pk]) + "?page_size=100")
    # The post (404 if deleted), then the page of comments with author and parent joined.
    assert len(comments_small) == len(comments_all) == 2, comments_all
    comment = post.comments.first()
    _, comment_detail = _queries(api, reverse("comment-detail", args=[comment.pk]))
    assert len(comment_detail) == 1


def test_authenticated_list_adds_only_the_user_lookup(busy_board, author_client):
    _, queries = _queries(author_client, reverse("post-list") + "?page_size=100")
    assert len(queries) == 3, queries
    _, detail = _queries(author_client, reverse("post-detail", args=[busy_board[0].pk]))
    assert len(detail) == 3, detail


def test_read_queries_load_only_what_the_api_shows_of_authors(api, busy_board):
    post = busy_board[0]
    for url in (
        reverse("post-list") + "?page_size=100",
        reverse("post-detail", args=[post.pk]),
        reverse("post-comments", args=[post.pk]),
        reverse("comment-detail", args=[post.comments.first().pk]),
    ):
        _, queries = _queries(api, url)
        joined = "\n".join(queries)
        assert '"auth_user"."username"' in joined, url
        for column in ("password", "email", "last_login", "date_joined"):
            assert f'"auth_user"."{column}"' not in joined, (url, column)


def test_tag_names_come_from_one_flat_query(api, busy_board):
    _, queries = _queries(api, reverse("post-list") + "?page_size=100")
    [tags_query] = [sql for sql in queries if '"board_tag"' in sql]
    # Names only: no Tag rows (id, name) built per post.
    assert '"board_tag"."id"' not in tags_query.split(" FROM ")[0], tags_query


@pytest.mark.parametrize("list_name", ["post-list", "post-comments"])
def test_list_pages_build_no_model_instance_per_row(api, busy_board, list_name):
    """A page is built from .values() rows: a model (and its joined author and parent) per row
    was most of a page's time after the queries (profiled)."""
    built = []

    def count(sender, **kwargs):
        built.append(sender.__name__)

    kwargs = {"post_pk": busy_board[0].pk} if list_name == "post-comments" else {}
    post_init.connect(count)
    try:
        response = api.get(reverse(list_name, kwargs=kwargs) + "?page_size=100")
    finally:
        post_init.disconnect(count)
    assert response.status_code == 200
    assert len(response.json()["results"]) >= 3
    # The comment list's one lookup of its post (whether it is live) is the only model built.
    assert built == (["Post"] if list_name == "post-comments" else []), built
