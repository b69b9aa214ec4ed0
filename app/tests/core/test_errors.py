"""Errors are JSON everywhere under /api/, with no HTML page or traceback."""

import pytest
from django.urls import reverse

from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_unknown_path_is_json_404(api):
    response = api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_non_numeric_id_is_json_404(api):
    response = api.get("/api/v1/posts/abc/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_wrong_method_is_405(api, author_client):
    # Signed in, so the answer is about the method, not the missing credentials.
    response = author_client.delete(reverse("post-list"))
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}
    response = api.put(reverse("healthz"))
    assert response.status_code == 405


def test_malformed_json_is_400(author_client):
    response = author_client.post(
        reverse("post-list"), data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_form_data_is_415(author_client):
    response = author_client.post(
        reverse("post-list"), data="title=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert "detail" in response.json()


def test_html_is_never_rendered_for_api_errors(api):
    PostFactory()
    response = api.get(reverse("post-list"), HTTP_ACCEPT="text/html")
    assert response["Content-Type"] == "application/json"


def test_bad_host_is_json_400(client):
    response = client.get("/api/v1/posts/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}


def test_unhandled_error_is_json_500_without_traceback(client, monkeypatch):
    from board import views

    def explode(self):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.PostViewSet, "get_queryset", explode)
    client.raise_request_exception = False
    response = client.get(reverse("post-list"))
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert b"secret internals" not in response.content


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_missing_trailing_slash_is_a_json_404_naming_the_path(author_client, method):
    response = getattr(author_client, method)("/api/v1/posts", {"title": "t", "content": "c"})
    assert response.status_code == 404  # not a 301 that a client would follow as a GET
    assert response.json() == {"detail": "Not found. API paths end with a slash: /api/v1/posts/"}


def test_outside_the_api_the_slash_is_still_appended(client):
    response = client.get("/admin")
    assert response.status_code == 301
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize("name", ["healthz", "readyz", "schema", "swagger-ui"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_probes_and_docs_answer_other_methods_with_a_json_405(name, method):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # as a browser or curl would meet it
    response = getattr(client, method)(reverse(name))
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


def test_a_csrf_failure_is_json():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("admin:login"), {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("CSRF verification failed")


def test_a_form_over_the_limit_is_a_json_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = client.post(
        "/admin/login/", data="a=" + "x" * 200, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large: at most 100 bytes."}
