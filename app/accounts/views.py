"""Registration, JWT tokens and the current account: thin views over accounts.services.

Every answer here may carry a token or the account, so none may be stored by a cache
(Cache-Control: no-store, on errors too).
"""

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
)

from accounts import services
from accounts.serializers import (
    LogoutSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    RegisterInputSerializer,
    RegisterOutputSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshOfLiveUserSerializer,
)
from accounts.throttling import AUTH_THROTTLE_SCOPE, AUTH_THROTTLES


class NoStoreMixin:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response


class RegisterView(NoStoreMixin, APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE

    @extend_schema(request=RegisterInputSerializer, responses={201: RegisterOutputSerializer})
    def post(self, request):
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(RegisterOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(NoStoreMixin, TokenObtainPairView):
    serializer_class = TokenObtainSerializer
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE

    @extend_schema(responses={200: TokenPairSerializer})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TokenRefresh(NoStoreMixin, TokenRefreshView):
    """A new token pair for a refresh token, which is then revoked (each is used once)."""

    serializer_class = TokenRefreshOfLiveUserSerializer
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE

    @extend_schema(responses={200: TokenPairSerializer})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(NoStoreMixin, TokenBlacklistView):
    """Revokes a refresh token (simplejwt's blacklist). Its access tokens expire on their own."""

    serializer_class = LogoutSerializer

    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE

    @extend_schema(request=LogoutSerializer, responses={204: None})
    def post(self, request, *args, **kwargs):
        super().post(request, *args, **kwargs)  # 200 with an empty object, or 401
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(NoStoreMixin, APIView):
    """Changes the password (the current one is required) and revokes every token issued before:
    refresh tokens are blacklisted, access tokens stop working at once. Sign in again."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_change_password(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(NoStoreMixin, generics.RetrieveAPIView):
    """The signed-in account. DELETE deactivates it and revokes its tokens; its posts and
    comments stay, authorless."""

    serializer_class = MeSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_object(self):
        return self.request.user

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.user_deactivate(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
