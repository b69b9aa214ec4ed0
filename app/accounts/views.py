"""Registration, JWT tokens and the current account."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.serializers import MeSerializer, RegisterSerializer
from accounts.throttling import AUTH_THROTTLE_SCOPE, AUTH_THROTTLES


class RegisterView(generics.CreateAPIView):
    serializer_class = RegisterSerializer
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE


class TokenView(TokenObtainPairView):
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE


class TokenRefresh(TokenRefreshView):
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE


class MeView(generics.RetrieveDestroyAPIView):
    """The signed-in account. DELETE deactivates it; its posts and comments stay, authorless."""

    serializer_class = MeSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_object(self):
        return self.request.user

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        return super().delete(request, *args, **kwargs)

    def perform_destroy(self, user):
        user.is_active = False
        user.save(update_fields=["is_active"])
