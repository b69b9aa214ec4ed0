"""Registration, JWT tokens and the current account: thin views over accounts.services."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services
from accounts.serializers import (
    MeSerializer,
    RegisterInputSerializer,
    RegisterOutputSerializer,
    TokenObtainSerializer,
    TokenRefreshOfLiveUserSerializer,
)
from accounts.throttling import AUTH_THROTTLE_SCOPE, AUTH_THROTTLES


class RegisterView(APIView):
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


class TokenView(TokenObtainPairView):
    serializer_class = TokenObtainSerializer
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE


class TokenRefresh(TokenRefreshView):
    serializer_class = TokenRefreshOfLiveUserSerializer
    throttle_classes = AUTH_THROTTLES
    throttle_scope = AUTH_THROTTLE_SCOPE


class MeView(generics.RetrieveAPIView):
    """The signed-in account. DELETE deactivates it; its posts and comments stay, authorless."""

    serializer_class = MeSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_object(self):
        return self.request.user

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.user_deactivate(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
