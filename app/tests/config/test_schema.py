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
