import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import PASSWORD, CommentFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_register_creates_a_user_and_hides_the_password(api):
    response = api.post(
        reverse("register"),
        {"username": "newbie", "password": "a-long-test-password-42", "email": "n@example.com"},
    )
    assert response.status_code == 201
    user = User.objects.get(username="newbie")
    assert response.json() == {"id": user.pk, "username": "newbie"}
    assert user.check_password("a-long-test-password-42")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "weak", "password": "123"}, "password"),
        ({"username": "weak", "password": "password"}, "password"),
        ({"username": "longname", "password": "longname1"}, "password"),
        ({"password": "a-long-test-password-42"}, "username"),
        ({"username": "x", "password": "a-long-test-password-42", "email": "nope"}, "email"),
    ],
)
def test_register_rejects_invalid_input_with_field_errors(api, payload, field):
    response = api.post(reverse("register"), payload)
    assert response.status_code == 400
    assert field in response.json()


def test_register_rejects_a_taken_username(api):
    UserFactory(username="taken")
    response = api.post(reverse("register"), {"username": "taken", "password": PASSWORD})
    assert response.status_code == 400
    assert "username" in response.json()


def test_token_pair_and_refresh(api):
    UserFactory(username="alice")
    response = api.post(reverse("token"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}

    refreshed = api.post(reverse("token-refresh"), {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    assert "access" in refreshed.json()

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get(reverse("me")).json()["username"] == "alice"


def test_token_with_bad_credentials_is_401(api):
    UserFactory(username="alice")
    response = api.post(reverse("token"), {"username": "alice", "password": "wrong-password"})
    assert response.status_code == 401
    assert "detail" in response.json()


def test_refresh_with_a_garbage_token_is_401(api):
    response = api.post(reverse("token-refresh"), {"refresh": "not-a-token"})
    assert response.status_code == 401


def test_me_shows_the_account(user, author_client):
    response = author_client.get(reverse("me"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "username", "email", "date_joined"}
    assert body["id"] == user.pk


def test_me_needs_a_token(api):
    assert api.get(reverse("me")).status_code == 401


def test_deactivating_keeps_content_but_hides_the_author(user, author_client, api):
    post = PostFactory(author=user)
    comment = CommentFactory(post=post, author=user)

    assert author_client.delete(reverse("me")).status_code == 204

    user.refresh_from_db()
    assert user.is_active is False
    assert api.get(reverse("post-detail", args=[post.pk])).json()["author"] is None
    assert api.get(reverse("comment-detail", args=[comment.pk])).json()["author"] is None
    # The token of a deactivated account no longer works, and neither does logging in.
    assert author_client.get(reverse("me")).status_code == 401
    login = api.post(reverse("token"), {"username": user.username, "password": PASSWORD})
    assert login.status_code == 401


def test_a_token_cannot_edit_another_users_post(db):
    first, second = UserFactory(), UserFactory()
    post = PostFactory(author=first)
    response = client_for(second).patch(reverse("post-detail", args=[post.pk]), {"title": "hijack"})
    assert response.status_code == 403


@pytest.mark.parametrize("taken", ["Alice", "ALICE", "alice"])
def test_usernames_are_unique_case_insensitively(api, taken):
    UserFactory(username="alice")
    response = api.post(reverse("register"), {"username": taken, "password": PASSWORD})
    assert response.status_code == 400
    assert response.json() == {"username": ["A user with that username already exists."]}
    assert User.objects.count() == 1


def test_usernames_are_unicode_normalised_before_the_check(api):
    # Full-width letters are NFKC-equal to ASCII ones: the same name, not a look-alike account.
    first = api.post(reverse("register"), {"username": "ｂｏｂ", "password": PASSWORD})
    assert first.status_code == 201
    assert first.json()["username"] == "bob"
    second = api.post(reverse("register"), {"username": "Bob", "password": PASSWORD})
    assert second.status_code == 400


def test_the_database_refuses_a_case_variant_username(db):
    from django.db import IntegrityError, transaction

    UserFactory(username="carol")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="CAROL")


def test_passwords_are_not_trimmed(api):
    password = "  spaces around this password  "
    response = api.post(reverse("register"), {"username": "spacey", "password": password})
    assert response.status_code == 201
    assert User.objects.get(username="spacey").check_password(password)
    ok = api.post(reverse("token"), {"username": "spacey", "password": password})
    assert ok.status_code == 200
    trimmed = api.post(reverse("token"), {"username": "spacey", "password": password.strip()})
    assert trimmed.status_code == 401


def test_refresh_after_deactivation_is_401(api):
    user = UserFactory(username="leaving")
    tokens = api.post(reverse("token"), {"username": "leaving", "password": PASSWORD}).json()
    assert client_for(user).delete(reverse("me")).status_code == 204
    response = api.post(reverse("token-refresh"), {"refresh": tokens["refresh"]})
    assert response.status_code == 401
    # Deactivation revoked it (tests/accounts/test_tokens.py).
    assert response.json()["code"] == "token_not_valid"


def test_refresh_of_a_deleted_user_is_401(api):
    user = UserFactory(username="removed")
    tokens = api.post(reverse("token"), {"username": "removed", "password": PASSWORD}).json()
    user.delete()  # e.g. by staff in the admin
    response = api.post(reverse("token-refresh"), {"refresh": tokens["refresh"]})
    assert response.status_code == 401
    assert response.json() == {"detail": "No active account found for the given token."}
