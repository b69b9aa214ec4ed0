"""Two real connections registering the same name at once (PostgreSQL: see tests/conftest.py)."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
User = get_user_model()


@pytest.mark.parametrize("second_name", ["racer", "RACER"])
def test_a_concurrent_duplicate_registration_is_400_not_500(second_name):
    """The first registration's INSERT is open when the second request checks and inserts: the
    check cannot see it, so the unique index decides, and the loser must get a 400."""
    inserted, release, answers = threading.Event(), threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                User.objects.create_user(username="racer", password=PASSWORD)
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    def second():
        try:
            inserted.wait(10)
            client = APIClient()
            client.raise_request_exception = False
            response = client.post(
                reverse("register"), {"username": second_name, "password": PASSWORD}
            )
            answers["status"], answers["body"] = response.status_code, response.content
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inserted.wait(10)
    # Let the second request reach the INSERT that waits on the first one's row lock.
    threading.Event().wait(1.0)
    release.set()
    for thread in threads:
        thread.join(20)
    assert answers["status"] == 400, answers
    assert User.objects.filter(username__iexact="racer").count() == 1
