"""OpenAPI extensions for the accounts app (imported by AccountsConfig.ready)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class CaseInsensitiveJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.CaseInsensitiveJWTAuthentication"
