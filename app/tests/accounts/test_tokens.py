"""The token lifecycle: rotation, logout, password change and deactivation revoke tokens;
answers that carry a token or the account are never stored; the scheme is case-insensitive."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another-long-password-77"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def _sign_in(api, password=PASSWORD):
    response = api.post(reverse("token"), {"username": "alice", "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(access, scheme="Bearer"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {access}")
    return client


def _refresh(api, refresh):
    return api.post(reverse("token-refresh"), {"refresh": refresh})


def test_a_refresh_token_is_used_once(api, alice):
    tokens = _sign_in(api)
    first = _refresh(api, tokens["refresh"])
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != tokens["refresh"]
    again = _refresh(api, tokens["refresh"])
    assert again.status_code == 401
    assert again.json()["code"] == "token_not_valid"
    # The rotated one works (once).
    assert _refresh(api, first.json()["refresh"]).status_code == 200


def test_logout_revokes_the_refresh_token(api, alice):
    tokens = _sign_in(api)
    response = api.post(reverse("logout"), {"refresh": tokens["refresh"]})
    assert response.status_code == 204
    assert _refresh(api, tokens["refresh"]).status_code == 401
    # A second logout with it: the token is no longer valid.
    assert api.post(reverse("logout"), {"refresh": tokens["refresh"]}).status_code == 401


@pytest.mark.parametrize("body", [{}, {"refresh": "garbage"}])
def test_logout_needs_a_valid_refresh_token(api, body):
    response = api.post(reverse("logout"), body)
    assert response.status_code in (400, 401)
    assert response.json()


def test_a_password_change_needs_the_current_password(api, alice):
    tokens = _sign_in(api)
    response = _bearer(tokens["access"]).post(
        reverse("password-change"), {"old_password": "wrong-one", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert "old_password" in response.json()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_weak_new_password_is_refused(api, alice):
    tokens = _sign_in(api)
    response = _bearer(tokens["access"]).post(
        reverse("password-change"), {"old_password": PASSWORD, "new_password": "123"}
    )
    assert response.status_code == 400
    assert "new_password" in response.json()


def test_a_password_change_revokes_every_token_issued_before(api, alice):
    phone, laptop = _sign_in(api), _sign_in(api)
    response = _bearer(laptop["access"]).post(
        reverse("password-change"), {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204
    for tokens in (phone, laptop):
        assert _bearer(tokens["access"]).get(reverse("me")).status_code == 401
        assert _refresh(api, tokens["refresh"]).status_code == 401
    assert (
        api.post(reverse("token"), {"username": "alice", "password": PASSWORD}).status_code == 401
    )
    fresh = _sign_in(api, NEW_PASSWORD)
    assert _bearer(fresh["access"]).get(reverse("me")).status_code == 200
    assert _refresh(api, fresh["refresh"]).status_code == 200


def test_deactivation_revokes_every_token(api, alice):
    phone, laptop = _sign_in(api), _sign_in(api)
    assert _bearer(laptop["access"]).delete(reverse("me")).status_code == 204
    for tokens in (phone, laptop):
        assert _bearer(tokens["access"]).get(reverse("me")).status_code == 401
        assert _refresh(api, tokens["refresh"]).status_code == 401


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_scheme_is_case_insensitive(api, alice, scheme):
    tokens = _sign_in(api)
    response = _bearer(tokens["access"], scheme).get(reverse("me"))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_another_scheme_is_anonymous_not_an_error(api, alice):
    response = _bearer("dXNlcjpwYXNz", "Basic").get(reverse("post-list"))
    assert response.status_code == 200


def _assert_no_store(response):
    assert "no-store" in response["Cache-Control"], (response.status_code, response.headers)


def test_answers_with_tokens_or_the_account_are_never_stored(api, alice):
    register = api.post(reverse("register"), {"username": "bob", "password": PASSWORD})
    _assert_no_store(register)
    token = api.post(reverse("token"), {"username": "alice", "password": PASSWORD})
    _assert_no_store(token)
    _assert_no_store(api.post(reverse("token"), {"username": "alice", "password": "wrong"}))
    tokens = token.json()
    _assert_no_store(_refresh(api, tokens["refresh"]))
    client = _bearer(tokens["access"])
    _assert_no_store(client.get(reverse("me")))
    _assert_no_store(
        client.post(reverse("password-change"), {"old_password": "x", "new_password": "y"})
    )
    _assert_no_store(api.post(reverse("logout"), {"refresh": "garbage"}))
