"""The error responses of every operation, in the OpenAPI schema (a drf-spectacular hook).

Every error the API answers has one shape, the `Error` component: `detail` (and a `code` where
DRF or simplejwt give one) for most, one key per invalid field for a 400 on input. Which
statuses an operation can answer follows from what it takes and who may call it; this hook
adds them all in one place rather than on each view.
"""

ERROR = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "An error. `detail` says what went wrong; a 400 on invalid input has instead one key "
        "per invalid field, with its messages (a list of strings, or an object per list item)."
    ),
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, a field or query parameter out of its bounds.",
    401: "No valid credentials: a missing, expired, revoked or malformed token, or a wrong "
    "username or password.",
    403: "Signed in, but not allowed: only the author may edit, the author or staff delete.",
    404: "No such live row (or it was deleted), or a tampered pagination cursor.",
    413: "The request body is over the size limit.",
    415: "The request body is not JSON.",
    429: "Too many requests from this client: wait for Retry-After seconds.",
}
# The endpoints that take credentials in the body (no Authorization header).
CREDENTIAL_PATHS = ("/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/logout/")
UNSAFE_ON_A_ROW = ("put", "patch", "delete")


def _statuses(path: str, method: str, operation: dict) -> set[int]:
    parameters = operation.get("parameters", [])
    in_path = any(p["in"] == "path" for p in parameters)
    in_query = any(p["in"] == "query" for p in parameters)
    takes_body = "requestBody" in operation
    signs_in = any(requirement for requirement in operation.get("security", []))
    statuses = {429}
    if takes_body or in_query:
        statuses.add(400)
    if takes_body:
        statuses |= {413, 415}
    if signs_in or path in CREDENTIAL_PATHS:
        statuses.add(401)
    if in_path and method in UNSAFE_ON_A_ROW:
        statuses.add(403)
    if in_path or any(p["name"] == "cursor" for p in parameters):
        statuses.add(404)
    return statuses


def add_error_responses(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: the Error component and each operation's error statuses."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR}"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, operation)):
                response = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": reference}},
                }
                if status == 429:
                    response["headers"] = {
                        "Retry-After": {
                            "description": "Seconds to wait before the next request.",
                            "schema": {"type": "integer"},
                        }
                    }
                responses.setdefault(str(status), response)
    return result
