"""Usernames: NFKC before validation, the same normalisation at login, and case-insensitive
uniqueness on every database."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import UsernameKey
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def _register(api, username):
    return api.post(reverse("register"), {"username": username, "password": PASSWORD})


def test_the_length_is_checked_on_the_normalised_name(api):
    # "ﬀ" (one letter, valid as typed) is "ff" after NFKC: 100 typed, 200 stored, over 150.
    response = _register(api, "\ufb00" * 100)
    assert response.status_code == 400
    assert "username" in response.json()
    assert not User.objects.exists()


def test_the_characters_are_checked_on_the_normalised_name(api):
    # "⑴" is a number (valid as typed); NFKC makes it "(1)", and parentheses are not allowed.
    response = _register(api, "ann\u2474")
    assert response.status_code == 400
    assert "username" in response.json()
    assert not User.objects.exists()


def test_login_normalises_the_name_as_registration_does(api):
    assert _register(api, "ｂｏｂ").json()["username"] == "bob"
    response = api.post(reverse("token"), {"username": "ｂｏｂ", "password": PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(("first", "second"), [("Émile", "émile"), ("STRASSE", "straße")])
def test_uniqueness_folds_unicode_case_on_every_database(api, first, second):
    assert _register(api, first).status_code == 201
    response = _register(api, second)
    assert response.status_code == 400
    assert response.json() == {"username": ["A user with that username already exists."]}
    assert User.objects.count() == 1


def test_every_save_writes_the_key(db):
    user = UserFactory(username="Zoë")
    assert UsernameKey.objects.get(user=user).key == "zoë"
    user.username = "Zoé"
    user.save()
    assert UsernameKey.objects.get(user=user).key == "zoé"


def test_the_database_refuses_two_users_with_one_key(db):
    from django.db import IntegrityError, transaction

    UserFactory(username="Émile")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="éMILE")
