"""A request whose database session ended before it committed anything is run a second time;
one that may have committed a write is not (real PostgreSQL sessions, ended from outside)."""

import logging

import pytest
from django.db import connection, transaction
from django.http import JsonResponse
from django.test import RequestFactory
from django.urls import reverse

from board.models import Post, Tag
from core.database import commit_outcome
from core.exceptions import DATABASE_DOWN_ERRORS, database_unavailable
from core.request_retry import DatabaseRetryMiddleware
from tests.database import (
    end_session,
    end_session_once_its_commit_waits,
    synchronous_standby_that_never_answers,
    wait_for_the_standby,
)
from tests.metrics import degraded, sample

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def retried() -> float:
    return sample("board_database_retried_requests_total")


def lost_commits(outcome: str) -> float:
    return sample("board_database_lost_commits_total", outcome=outcome)


def _post_cutting_its_session(client, cut, title: str, tag: str) -> None:
    """POSTs a post (201 asserted, stored once); `cut(connection)` runs as it is inserted."""
    cuts = []

    def at_the_insert(execute, sql, params, many, context):
        if not cuts and sql.startswith(f'INSERT INTO "{Post._meta.db_table}"'):
            cuts.append(cut(context["connection"]))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(at_the_insert):
        response = client.post(
            reverse("post-list"),
            {"title": title, "content": "Once.", "tags": [tag]},
            format="json",
        )
    assert cuts, "the post was never inserted"
    assert response.status_code == 201, response.content
    assert list(Post.objects.values_list("title", flat=True)) == [title]
    assert response.json()["tags"] == [tag]


def test_a_post_whose_session_ends_before_its_insert_is_created_once(author_client):
    """The switchover case: the session passed the request's health check, then ended."""
    before = (retried(), degraded("database"))
    _post_cutting_its_session(author_client, end_session, "Twice?", "retry")
    assert (retried(), degraded("database")) == (before[0] + 1, before[1])


def test_a_post_whose_commit_was_cut_while_it_waited_for_the_standby_is_created_once(
    author_client,
):
    """The switchover's fast shutdown ends a session waiting for its synchronous standby: the
    COMMIT applied, its answer lost. The server says so (pg_xact_status): the request goes on."""

    def end_it_once_its_commit_waits(wrapper):
        wait_for_the_standby(wrapper.connection)
        return end_session_once_its_commit_waits(wrapper.connection.get_backend_pid())

    before = (retried(), degraded("database"), lost_commits("committed"))
    with synchronous_standby_that_never_answers():
        _post_cutting_its_session(author_client, end_it_once_its_commit_waits, "Applied", "lost")
    assert (retried(), degraded("database"), lost_commits("committed")) == (
        before[0],
        before[1],
        before[2] + 1,
    )


def test_a_request_whose_commit_was_lost_before_it_applied_is_run_again(monkeypatch):
    """The session ends between the transaction's last write and its COMMIT: the server aborted
    it (pg_xact_status), so the request runs again and creates its tag once."""
    note, ended = commit_outcome.pending_commit, []

    def note_then_end_the_session(raw_connection):
        pending = note(raw_connection)
        if pending is not None and not ended:
            end_session(connection)
            ended.append(pending)
        return pending

    monkeypatch.setattr(commit_outcome, "pending_commit", note_then_end_the_session)
    runs = []

    def create_a_tag(request):
        runs.append(1)
        try:
            with transaction.atomic():
                Tag.objects.create(name="once")
        except DATABASE_DOWN_ERRORS as exc:
            return database_unavailable(request, exc)
        return JsonResponse({"tags": Tag.objects.count()})

    before = (retried(), lost_commits("not applied"))
    response = _run(create_a_tag)
    assert (len(runs), response.status_code) == (2, 200), response.content
    assert list(Tag.objects.values_list("name", flat=True)) == ["once"]
    assert (retried(), lost_commits("not applied")) == (before[0] + 1, before[1] + 1)


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
    assert "as it had written: a COMMIT applied or not known, or an autocommit write" in logged
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
