"""Input and output shapes of the account endpoints, and the public view of an author."""

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.services import normalize_username
from core.fields import StrictCharField, StrictEmailField

User = get_user_model()


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


def live_author(user):
    """An author as the API shows it: null once the account is deactivated."""
    if user is None or not user.is_active:
        return None
    return {"id": user.pk, "username": user.username}


USERNAME_MAX_LENGTH = User._meta.get_field(User.USERNAME_FIELD).max_length


class UsernameField(StrictCharField):
    """A username, NFKC-normalised BEFORE its checks: the length and characters validated are
    those of the name that is stored (full-width letters are one character each either way,
    but e.g. "ﬀ" becomes "ff" and "①" becomes "1")."""

    def __init__(self, **kwargs):
        super().__init__(max_length=USERNAME_MAX_LENGTH, **kwargs)
        self.validators.append(UnicodeUsernameValidator())

    def to_internal_value(self, data):
        return normalize_username(super().to_internal_value(data))


class RegisterInputSerializer(serializers.Serializer):
    username = UsernameField()
    # Passwords are taken as typed: leading and trailing spaces are part of them.
    password = StrictCharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    email = StrictEmailField(required=False, allow_blank=True, default="")


class RegisterOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


class MeSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="Empty when none was given.")

    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined"]
        read_only_fields = fields


# A JSON Web Token as simplejwt writes one: three base64url parts.
JWT_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


@extend_schema_field({"type": "string", "pattern": JWT_PATTERN})
class JWTField(StrictCharField):
    """A token as the client received it. Anything else is refused as simplejwt refuses a bad
    token (401), so the schema's pattern says which strings are worth sending."""


class TokenObtainSerializer(TokenObtainPairSerializer):
    """simplejwt's pair serializer, without trimming the password (registration does not), and
    with the username normalised as registration stores it (NFKC)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = StrictCharField(write_only=True)
        self.fields["password"] = StrictCharField(
            write_only=True, trim_whitespace=False, style={"input_type": "password"}
        )

    def validate(self, attrs):
        attrs[self.username_field] = normalize_username(attrs[self.username_field])
        return super().validate(attrs)


class TokenRefreshOfLiveUserSerializer(TokenRefreshSerializer):
    """simplejwt's refresh (rotating: the answer has a new refresh token, the old one is
    blacklisted). simplejwt looks the user up with .get(): a deleted user would be a 500; it is a
    401. A refresh token issued before the user's last password change is refused too (its
    hash_password claim no longer matches), as the authentication refuses such access tokens."""

    refresh = JWTField()
    access = serializers.CharField(read_only=True)

    def validate(self, attrs):
        token = self.token_class(attrs["refresh"])
        user = User.objects.filter(pk=token.payload.get(api_settings.USER_ID_CLAIM)).first()
        if user is None or token.payload.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            )
        try:
            return super().validate(attrs)
        except ObjectDoesNotExist as exc:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from exc


class TokenPairSerializer(serializers.Serializer):
    """What the token and refresh endpoints answer (for the schema)."""

    access = serializers.CharField(help_text="Access token: send as `Authorization: Bearer ...`.")
    refresh = serializers.CharField(help_text="Refresh token: used once, by the refresh endpoint.")


class LogoutSerializer(TokenBlacklistSerializer):
    refresh = JWTField(write_only=True, help_text="The refresh token to revoke.")


class PasswordChangeSerializer(serializers.Serializer):
    old_password = StrictCharField(trim_whitespace=False, style={"input_type": "password"})
    new_password = StrictCharField(trim_whitespace=False, style={"input_type": "password"})
