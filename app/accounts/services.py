"""Writes to accounts: registration, password change, deactivation and token revocation. Views,
the admin and seed_demo call these."""

import unicodedata

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import UsernameKey

User = get_user_model()

USERNAME_TAKEN = "A user with that username already exists."


def normalize_username(username: str) -> str:
    """NFKC, as Django's own forms do: `ｂｏｂ` (full width) and `bob` are the same name."""
    return unicodedata.normalize("NFKC", username)


def username_key(username: str) -> str:
    """The name as usernames are compared: NFKC case folding (Unicode's NFKC_Casefold, less
    the default-ignorable code points, which the username validator refuses anyway)."""
    return unicodedata.normalize("NFKC", normalize_username(username).casefold())


def username_taken(username: str) -> bool:
    # The iexact check covers users a release without UsernameKey created after the migration.
    return (
        UsernameKey.objects.filter(key=username_key(username)).exists()
        or User.objects.filter(username__iexact=normalize_username(username)).exists()
    )


def user_register(*, username: str, password: str | None, email: str = ""):
    """A new active user. `password=None` gives an unusable password (demo accounts).

    Usernames are unique case-insensitively; the unique index on lower(username) decides a race,
    and the loser gets the same validation error as a plain duplicate, never a 500.
    """
    username = normalize_username(username)
    if username_taken(username):
        raise ValidationError({"username": USERNAME_TAKEN})
    user = User(username=username, email=User.objects.normalize_email(email))
    if password is None:
        user.set_unusable_password()
    else:
        # Django's validators see the would-be user, so "similar to username" is caught too.
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)  # as given: never trimmed
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError({"username": USERNAME_TAKEN}) from exc
    return user


def user_revoke_tokens(*, user) -> int:
    """Blacklists every refresh token issued to the user (simplejwt's outstanding tokens) that
    has not expired yet. Access tokens end with the password change or deactivation itself
    (CHECK_REVOKE_TOKEN; the authentication refuses inactive users). Returns how many."""
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    tokens = [BlacklistedToken(token_id=pk) for pk in live.values_list("pk", flat=True)]
    BlacklistedToken.objects.bulk_create(tokens, ignore_conflicts=True)
    return len(tokens)


@transaction.atomic
def user_change_password(*, user, old_password: str, new_password: str) -> None:
    """Sets a new password when the old one is right, and revokes every token issued before."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": "The current password is not correct."})
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_revoke_tokens(user=user)


@transaction.atomic
def user_deactivate(*, user) -> None:
    """The account can no longer sign in and its tokens are revoked; its posts and comments
    stay, shown without author."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    user_revoke_tokens(user=user)
