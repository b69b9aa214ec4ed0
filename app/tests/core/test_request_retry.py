"""A request whose database session ended before it committed anything is run a second time;
one that may have committed a write is not (real PostgreSQL sessions, ended from outside)."""

import logging

import pytest
from django.db import connection, transaction
from django.http import JsonResponse
from django.test import RequestFactory
from django.urls import reverse

from board.models import Post, Tag
from core.exceptions import DATABASE_DOWN_ERRORS, database_unavailable
from core.request_retry import DatabaseRetryMiddleware
from tests.database import end_session
from tests.metrics import degraded, sample

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def retried() -> float:
    return sample("board_database_retried_requests_total")


def test_a_post_whose_session_ends_before_its_insert_is_created_once(author_client):
    """The switchover case: the session passed the request's health check, then ended."""
    ended = []

    def end_the_session_first(execute, sql, params, many, context):
        if not ended and sql.startswith(f'INSERT INTO "{Post._meta.db_table}"'):
            end_session(context["connection"])
            ended.append(sql)
        return execute(sql, params, many, context)

    before = (retried(), degraded("database"))
    with connection.execute_wrapper(end_the_session_first):
        response = author_client.post(
            reverse("post-list"),
            {"title": "Twice?", "content": "Once.", "tags": ["retry"]},
            format="json",
        )
    assert ended, "the post was never inserted"
    assert response.status_code == 201, response.content
    assert list(Post.objects.values_list("title", flat=True)) == ["Twice?"]
    assert response.json()["tags"] == ["retry"]
    assert (retried(), degraded("database")) == (before[0] + 1, before[1])


class Probe:
    """A view that writes as told, then finds its session ended; counts how often it runs."""

    def __init__(self, write=None):
        self.write = write
        self.runs = 0

    def __call__(self, request):
        self.runs += 1
        if self.write:
            self.write()
        if self.runs == 1:
            connection.ensure_connection()
            end_session(connection)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM board_tag")
                return JsonResponse({"tags": cursor.fetchone()[0]})
        except DATABASE_DOWN_ERRORS as exc:
            return database_unavailable(request, exc)


def _run(probe):
    try:
        return DatabaseRetryMiddleware(probe)(RequestFactory().post("/", {"x": "1"}))
    finally:
        connection.close()  # what the end of a request does with a connection that failed


def test_a_read_only_request_is_run_again_on_a_new_session():
    probe = Probe()
    response = _run(probe)
    assert (probe.runs, response.status_code) == (2, 200)


def test_a_request_that_committed_a_transaction_is_not_run_again():
    def commit_a_tag():
        with transaction.atomic():
            Tag.objects.create(name=f"t{Tag.objects.count()}")

    before = degraded("database")
    probe = Probe(write=commit_a_tag)
    response = _run(probe)
    assert (probe.runs, response.status_code) == (1, 503)
    assert Tag.objects.count() == 1
    assert degraded("database") == before + 1


def test_a_request_that_wrote_in_autocommit_is_not_run_again():
    probe = Probe(write=lambda: Tag.objects.create(name="autocommitted"))
    response = _run(probe)
    assert (probe.runs, response.status_code) == (1, 503)
    assert Tag.objects.count() == 1


def _answered_503(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "answering 503" in r.getMessage()]


def test_each_503_is_logged_with_its_error_and_why_it_was_not_run_again(caplog):
    caplog.set_level(logging.WARNING, logger="board.request")
    _run(Probe())  # run again: its client gets no 503, nothing is logged as one
    assert _answered_503(caplog) == []

    _run(Probe(write=lambda: Tag.objects.create(name="autocommitted")))
    (logged,) = _answered_503(caplog)
    assert "as it had sent a COMMIT or an autocommit write" in logged, logged
    assert "): OperationalError: " in logged, logged

    caplog.clear()

    def ends_every_session(request):
        connection.ensure_connection()
        end_session(connection)
        try:
            Tag.objects.count()
        except DATABASE_DOWN_ERRORS as exc:
            return database_unavailable(request, exc)

    assert _run(ends_every_session).status_code == 503
    (logged,) = _answered_503(caplog)
    assert "as its second attempt failed too): OperationalError: " in logged, logged


def test_other_database_errors_are_not_run_again():
    """A statement timeout run twice would double the load that caused it."""

    def timeout(request):
        timeout.runs += 1
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', '1', false)")
                cursor.execute("SELECT pg_sleep(1)")
        except DATABASE_DOWN_ERRORS as exc:
            return database_unavailable(request, exc)
        finally:
            connection.close()
        raise AssertionError("the statement was not cancelled")

    timeout.runs = 0
    response = _run(timeout)
    assert (timeout.runs, response.status_code) == (1, 503)
