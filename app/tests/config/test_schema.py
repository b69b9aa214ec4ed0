import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_openapi_schema_describes_the_api(api):
    response = api.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/posts/",
        "/api/v1/posts/{id}/",
        "/api/v1/posts/{post_pk}/comments/",
        "/api/v1/comments/{id}/",
        "/api/v1/auth/register/",
        "/api/v1/auth/token/",
        "/api/v1/auth/me/",
    ):
        assert path in schema["paths"], path


def test_swagger_ui_uses_local_assets(client):
    response = client.get(reverse("swagger-ui"))
    assert response.status_code == 200
    html = response.text
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_schema_generation_has_no_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.django_db
def test_schema_has_no_format_suffix_routes(api):
    schema = api.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert not [path for path in schema["paths"] if "format" in path]


@pytest.fixture
def schema(api, db):
    return api.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _errors(operation):
    return {
        int(status): response["content"]["application/json"]["schema"]["$ref"]
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }


ERROR_REF = "#/components/schemas/Error"


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/v1/posts/", "get", {400, 401, 404, 429}),
        ("/api/v1/posts/", "post", {400, 401, 413, 415, 429}),
        ("/api/v1/posts/{id}/", "get", {401, 404, 429}),
        ("/api/v1/posts/{id}/", "patch", {400, 401, 403, 404, 413, 415, 429}),
        ("/api/v1/posts/{id}/", "delete", {401, 403, 404, 429}),
        ("/api/v1/comments/{id}/", "patch", {400, 401, 403, 404, 413, 415, 429}),
        ("/api/v1/auth/register/", "post", {400, 413, 415, 429}),
        ("/api/v1/auth/token/", "post", {400, 401, 413, 415, 429}),
        ("/api/v1/auth/token/refresh/", "post", {400, 401, 413, 415, 429}),
        ("/api/v1/auth/logout/", "post", {400, 401, 413, 415, 429}),
        ("/api/v1/auth/password/", "post", {400, 401, 413, 415, 429}),
    ],
)
def test_every_operation_documents_its_errors_with_one_component(schema, path, method, statuses):
    assert _errors(schema["paths"][path][method]) == dict.fromkeys(statuses, ERROR_REF)
    assert "detail" in schema["components"]["schemas"]["Error"]["properties"]


def test_token_endpoints_document_the_pair_they_answer(schema):
    for path in ("/api/v1/auth/token/", "/api/v1/auth/token/refresh/"):
        body = schema["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert set(schema["components"]["schemas"][name]["required"]) == {"access", "refresh"}


def test_limits_bounds_and_choices_are_in_the_schema(schema):
    components = schema["components"]["schemas"]
    post = components["PostInputRequest"]["properties"]
    assert post["title"]["maxLength"] == 100
    assert post["content"]["maxLength"] == 10_000
    assert post["tags"]["maxItems"] == 10
    assert post["tags"]["items"]["maxLength"] == 30
    assert components["CommentInputRequest"]["properties"]["content"]["maxLength"] == 2_000
    assert components["RegisterInputRequest"]["properties"]["username"]["maxLength"] == 150
    for path in ("/api/v1/posts/", "/api/v1/posts/{post_pk}/comments/"):
        parameters = {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}
        assert parameters["page_size"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 20,
        }
        assert parameters["ordering"]["enum"] == ["created_at", "-created_at"]
    search = {p["name"]: p for p in schema["paths"]["/api/v1/posts/"]["get"]["parameters"]}
    assert search["search"]["schema"]["maxLength"] == 200
