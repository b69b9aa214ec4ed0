"""`?search=` on the post list: full-text search on PostgreSQL, icontains on SQLite, never a 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from board import search
from board.search import SEARCH_INDEX, SEARCH_MAX_LENGTH
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_word_statistics():
    """Each test reads the statistics of its own posts (a process keeps them for minutes)."""
    search._common.clear()
    yield
    search._common.clear()


def _ids(api, text, **params):
    response = api.get(reverse("post-list"), {"search": text, **params})
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def posts():
    return {
        "nginx": PostFactory(title="Deploying behind nginx", content="Gunicorn and a proxy."),
        "tips": PostFactory(title="Django tips", content="Small tips for views."),
        "both": PostFactory(title="Nginx tips", content="Put Django behind nginx."),
        "cats": PostFactory(title="Cats", content="Nothing about servers here."),
    }


def test_every_word_must_match_title_or_content_newest_first(api, posts):
    assert _ids(api, "nginx") == [posts["both"].pk, posts["nginx"].pk]
    assert _ids(api, "django tips") == [posts["both"].pk, posts["tips"].pk]
    assert _ids(api, "GUNICORN") == [posts["nginx"].pk]
    assert _ids(api, "nothing-like-this") == []


def test_search_combines_with_ordering_and_pages_by_cursor(api, posts):
    assert _ids(api, "tips", ordering="created_at") == [posts["tips"].pk, posts["both"].pk]
    first = api.get(reverse("post-list"), {"search": "tips", "page_size": 1}).json()
    assert [item["id"] for item in first["results"]] == [posts["both"].pk]
    second = api.get(first["next"]).json()
    assert [item["id"] for item in second["results"]] == [posts["tips"].pk]
    assert second["next"] is None


def test_deleted_posts_are_not_found(api, posts):
    posts["both"].soft_delete()
    assert _ids(api, "nginx") == [posts["nginx"].pk]


@pytest.mark.postgresql
def test_websearch_syntax_phrases_exclusion_or_and_stemming(api, posts):
    # A phrase in quotes: the words next to each other, in that order.
    assert _ids(api, '"django tips"') == [posts["tips"].pk]
    assert _ids(api, '"tips django"') == []
    # -word excludes; "or" is either.
    assert _ids(api, "nginx -django") == [posts["nginx"].pk]
    assert _ids(api, "gunicorn or cats") == [posts["cats"].pk, posts["nginx"].pk]
    # English stemming: a word finds its other forms.
    assert _ids(api, "deploy") == [posts["nginx"].pk]
    assert _ids(api, "tip") == [posts["both"].pk, posts["tips"].pk]
    # Words, not substrings.
    assert _ids(api, "ginx") == []


@pytest.mark.postgresql
def test_an_edited_post_is_found_by_its_new_words(author_client, user):
    post = PostFactory(author=user, title="Before", content="Old words.")
    url = reverse("post-detail", args=[post.pk])
    assert author_client.patch(url, {"content": "Fresh vocabulary."}).status_code == 200
    # The index follows the edit (and "vocabularies" stems to the same word).
    assert _ids(author_client, "vocabularies") == [post.pk]
    assert _ids(author_client, "old") == []


@pytest.mark.postgresql
def test_stop_words_alone_find_nothing_instead_of_everything(api, posts):
    assert _ids(api, "the and of") == []


ODD_INPUT = ['"', '""', "'", "-", "--nginx", "!", "&|", "( nginx", "nginx:*", "\\", "<->", "%", "_"]


@pytest.mark.parametrize("text", ODD_INPUT)
def test_odd_input_is_a_normal_answer(api, posts, text):
    response = api.get(reverse("post-list"), {"search": text})
    assert response.status_code == 200, response.content
    assert isinstance(response.json()["results"], list)


@pytest.mark.postgresql
def test_a_lone_quote_is_ignored_around_words(api, posts):
    assert _ids(api, '"gunicorn') == [posts["nginx"].pk]


def test_blank_search_is_no_filter(api, posts):
    assert len(_ids(api, "   ")) == len(posts)


def test_the_longest_search_is_answered_and_a_longer_one_is_a_json_400(api, posts):
    assert _ids(api, "nginx " + "x" * (SEARCH_MAX_LENGTH - 6)) == []
    response = api.get(reverse("post-list"), {"search": "x" * (SEARCH_MAX_LENGTH + 1)})
    assert response.status_code == 400
    assert list(response.json()) == ["search"]


def test_a_nul_character_is_a_json_400(api, posts):
    response = api.get(reverse("post-list"), {"search": "nginx\x00"})
    assert response.status_code == 400
    assert list(response.json()) == ["search"]


def _bench_posts(rows=100_000, every=1):
    """`rows` posts "bench post <n>" (the newest first, a second apart), of which each `every`-th
    says "Ordinary words." and the others "Other text."; then what autovacuum does (the GIN
    index's pending list moved into the index, statistics). SQL, to take seconds."""
    author = UserFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO post (author, title, content, is_deleted, created_at, updated_at) "
            "SELECT %s, 'bench post ' || i, "
            "CASE WHEN i %% %s = 0 THEN 'Ordinary words.' ELSE 'Other text.' END, false, "
            "now() - i * interval '1 second', now() FROM generate_series(1, %s) AS i",
            [author.pk, every, rows],
        )
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_INDEX])
        cursor.execute("ANALYZE post")


def _api_search_plan(api, text):
    """The titles `text` finds and the plan of the query the API ran for them (sequential scans
    priced out with SET LOCAL enable_seqscan = off: a table this small is cheapest read whole)."""
    with CaptureQueriesContext(connection) as captured:
        response = api.get(reverse("post-list"), {"search": text})
    assert response.status_code == 200, response.content
    sqls = [q["sql"] for q in captured.captured_queries]
    [sql] = [sql for sql in sqls if "search_document" in sql and "pg_stats" not in sql]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return [item["title"] for item in response.json()["results"]], plan


@pytest.mark.postgresql
def test_the_api_search_query_reads_the_gin_index_even_for_a_word_without_statistics(api):
    """Every post says "bench post <n>", so the planner knows "bench" and "post" match all rows
    and has no statistics for "777": it expects the default 0.5% (100 rows) to match. Ordered by
    created_at, it would walk post_live_created_idx newest first expecting a match every 200
    rows, and read all 100k (100k rows: below that the planner finds the index cheaper even so)."""
    _bench_posts()
    titles, plan = _api_search_plan(api, "bench post 777")
    assert titles == ["bench post 777"]
    assert f"Bitmap Index Scan on {SEARCH_INDEX}" in plan, plan
    assert "post_live_created_idx" not in plan, plan


@pytest.mark.postgresql
def test_common_words_are_checked_on_the_rows_the_index_finds_for_the_rare_one(api):
    """ "bench" and "post" are in every post: reading their posting lists from the index costs
    as much as the table. The index is read for "777" alone, the whole query checked per row."""
    _bench_posts()
    titles, plan = _api_search_plan(api, "bench post 777")
    assert titles == ["bench post 777"]
    assert "Index Cond: (search_document @@ '''777'''::tsquery)" in plan, plan
    whole = "ts_match_vq(search_document, '''bench'' & ''post'' & ''777'''::tsquery)"
    assert f"Filter: {whole}" in plan, plan


@pytest.mark.postgresql
def test_a_rare_word_with_common_ones_still_needs_them_all(api):
    # Every 2nd post says "ordinary": common, yet "ordinary 777" must not find post 777 (odd).
    _bench_posts(rows=2000, every=2)
    assert "ordinari" in search._common_lexemes("default")
    assert _api_search_plan(api, "ordinary 777")[0] == []
    assert _api_search_plan(api, "ordinary 778")[0] == ["bench post 778"]
    assert _api_search_plan(api, "ordinary 778 -bench")[0] == []
    # Common words only (each in half the posts) walk the newest posts, checking each.
    titles, plan = _api_search_plan(api, "bench ordinary")
    assert titles[:3] == ["bench post 2", "bench post 4", "bench post 6"]
    assert len(titles) == 20 and SEARCH_INDEX not in plan, plan
    assert _api_search_plan(api, "ordinary text")[0] == []


@pytest.mark.postgresql
def test_a_search_of_common_words_only_walks_the_newest_posts(api):
    """Every post matches "bench post": read from the GIN index that is all 100k rows, sorted
    for a page of 20 (1.3 s at 1M posts). The newest posts are the page."""
    _bench_posts()
    titles, plan = _api_search_plan(api, "bench post")
    assert titles == [f"bench post {i}" for i in range(1, 21)]
    assert "post_live_created_idx" in plan, plan
    assert SEARCH_INDEX not in plan, plan


@pytest.mark.parametrize("text", ['"', '""', "' \""])
def test_a_search_of_only_quotes_finds_nothing(api, text):
    PostFactory(title="anything")
    response = api.get(reverse("post-list"), {"search": text})
    assert response.status_code == 200
    assert response.json()["results"] == []
