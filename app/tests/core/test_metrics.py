"""The metrics middleware: every response counted by URL name, method and status, with its
latency and query count, and no query of its own."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from prometheus_client import REGISTRY
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import PostFactory
from tests.metrics import sample

pytestmark = pytest.mark.django_db


def test_requests_are_counted_by_view_method_and_status_with_their_queries(api):
    PostFactory.create_batch(3)
    requests = sample("board_http_requests_total", view="post-list", method="GET", status="200")
    timed = sample("board_http_request_duration_seconds_count", view="post-list", method="GET")
    observed = sample("board_db_queries_per_request_count", view="post-list")
    queries = sample("board_db_queries_per_request_sum", view="post-list")
    with CaptureQueriesContext(connection) as captured:
        assert api.get(reverse("post-list")).status_code == 200
    assert len(captured) > 0
    assert sample("board_http_requests_total", view="post-list", method="GET", status="200") == (
        requests + 1
    )
    assert sample("board_http_request_duration_seconds_count", view="post-list", method="GET") == (
        timed + 1
    )
    assert sample("board_db_queries_per_request_count", view="post-list") == observed + 1
    assert sample("board_db_queries_per_request_sum", view="post-list") == queries + len(captured)


def test_labels_are_url_names_never_raw_paths(api, author_client):
    post = PostFactory()
    before = sample("board_http_requests_total", view="post-detail", method="GET", status="200")
    author_client.get(reverse("post-detail", args=[post.pk]))
    assert sample("board_http_requests_total", view="post-detail", method="GET", status="200") == (
        before + 1
    )
    unmatched = sample("board_http_requests_total", view="<unmatched>", method="GET", status="404")
    api.get("/no/such/path/12345")
    api.generic("BREW", reverse("post-list"))
    assert sample("board_http_requests_total", view="<unmatched>", method="GET", status="404") == (
        unmatched + 1
    )
    # An unknown method is one label value, whatever a client sends.
    assert sample("board_http_requests_total", view="post-list", method="other", status="401")
    paths = [
        s.labels.get("view", "")
        for metric in REGISTRY.collect()
        if metric.name.startswith("board_")
        for s in metric.samples
    ]
    assert not any("/" in view for view in paths), paths


def test_throttled_requests_are_counted_by_scope(api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/min")
    before = sample("board_throttled_requests_total", scope="anon")
    codes = [api.get(reverse("post-list")).status_code for _ in range(3)]
    assert codes == [200, 429, 429]
    assert sample("board_throttled_requests_total", scope="anon") == before + 2
    assert sample("board_http_requests_total", view="post-list", method="GET", status="429") >= 2


def test_the_middleware_adds_no_query(api, django_assert_num_queries):
    # /healthz touches no database; counted by the middleware, it still runs none.
    with django_assert_num_queries(0):
        assert api.get(reverse("healthz")).status_code == 200
