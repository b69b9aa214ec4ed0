"""simplejwt's authentication, taking the scheme case-insensitively (RFC 9110 section 11.1:
`bearer` and `Bearer` are the same scheme; simplejwt compares bytes, so `bearer` was anonymous)."""

from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES, JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

_SCHEMES = {scheme.lower() for scheme in AUTH_HEADER_TYPE_BYTES}


class CaseInsensitiveJWTAuthentication(JWTAuthentication):
    def get_raw_token(self, header: bytes):
        parts = header.split()
        if not parts or parts[0].lower() not in _SCHEMES:
            return None  # another scheme: not ours to judge
        if len(parts) != 2:
            raise AuthenticationFailed(
                "Authorization header must contain two space-delimited values",
                code="bad_authorization_header",
            )
        return parts[1]
