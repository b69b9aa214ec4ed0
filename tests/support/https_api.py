"""The deployed site seen from outside the server, over HTTPS, as a client would see it: tests
that tests/e2e/test_https_api.py runs against the single server and
tests/e2e_multihost/test_api_on_both_app_servers.py against each app server. Each takes the
suite's ``client`` fixture (curl against one site); the admin check also takes ``admin_url``.

Every request goes to the test server's address only; the name board.test is resolved by curl
itself (--resolve). The certificate is self-signed: it is fetched from the server over SSH and
curl verifies the TLS connection against it (no -k).
"""

from __future__ import annotations

import re
import secrets
import subprocess

from .client import CURL_EMPTY_REPLY, CURL_SSL_CONNECT_ERROR


def test_probes_answer_over_https(client):
    health = client.request("/healthz")
    assert health.status == 200, health
    assert health.json() == {"status": "ok"}
    assert health.header("x-app-revision") not in (None, "", "dev")
    ready = client.request("/readyz")
    assert ready.status == 200, ready.body
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "cache": "ok"},
    }


def test_security_headers_and_request_id(client):
    resp = client.request("/healthz", headers={"X-Request-ID": "e2e-trace-42"})
    assert resp.status == 200
    # One HSTS header (nginx's; Django's copy is hidden).
    assert resp.headers.get("strict-transport-security") == ["max-age=63072000"]
    assert resp.header("x-content-type-options") == "nosniff"
    assert resp.header("x-frame-options") == "DENY"
    assert resp.header("referrer-policy")
    assert "frame-ancestors 'none'" in (resp.header("content-security-policy") or "")
    # The client's id is passed to the app and echoed once.
    assert resp.headers.get("x-request-id") == ["e2e-trace-42"]
    # Without one, nginx makes one up.
    generated = client.request("/healthz").header("x-request-id")
    assert generated and len(generated) >= 16
    # No version in the Server header.
    assert resp.header("server") == "nginx"


def test_api_flow_register_token_post_comment_delete(client):
    username = f"e2e_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    reg = client.request(
        "/api/v1/auth/register/",
        method="POST",
        json_body={"username": username, "password": password, "email": f"{username}@example.com"},
    )
    assert reg.status == 201, reg.body

    tok = client.request(
        "/api/v1/auth/token/",
        method="POST",
        json_body={"username": username, "password": password},
    )
    assert tok.status == 200, tok.body
    access = tok.json()["access"]
    assert tok.json()["refresh"]

    # Writing needs the token.
    anonymous = client.request(
        "/api/v1/posts/", method="POST", json_body={"title": "x", "content": "y"}
    )
    assert anonymous.status == 401, anonymous.body

    post = client.request(
        "/api/v1/posts/",
        method="POST",
        token=access,
        json_body={"title": "Hello from e2e", "content": "Posted over HTTPS through nginx."},
    )
    assert post.status == 201, post.body
    post_id = post.json()["id"]
    assert post.json()["author"]["username"] == username

    comment = client.request(
        f"/api/v1/posts/{post_id}/comments/",
        method="POST",
        token=access,
        json_body={"content": "First!"},
    )
    assert comment.status == 201, comment.body
    comments = client.request(f"/api/v1/posts/{post_id}/comments/")
    assert comments.status == 200
    assert "First!" in comments.body

    deleted = client.request(f"/api/v1/posts/{post_id}/", method="DELETE", token=access)
    assert deleted.status == 204, deleted.body
    gone = client.request(f"/api/v1/posts/{post_id}/")
    assert gone.status == 404, gone.body


def test_http_redirects_to_https(client):
    resp = client.request("/api/v1/posts/?page=2", scheme="http")
    assert resp.status == 301
    assert resp.header("location") == "https://board.test/api/v1/posts/?page=2"


def test_unknown_host_gets_no_answer_on_http(client):
    resp = client.request("/", scheme="http", host="not-board.test")
    assert resp.rc == CURL_EMPTY_REPLY, resp


def test_unknown_host_tls_handshake_is_rejected(client):
    resp = client.request("/", host="not-board.test")
    assert resp.rc == CURL_SSL_CONNECT_ERROR, resp
    # No SNI at all (a bare IP address): refused too.
    proc = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "-k", "--max-time", "20", f"https://{client.ip}/"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == CURL_SSL_CONNECT_ERROR, proc.stderr


def test_only_tls12_and_tls13(client):
    assert client.request("/healthz", extra=["--tlsv1.2", "--tls-max", "1.2"]).status == 200
    assert client.request("/healthz", extra=["--tlsv1.3"]).status == 200
    # SECLEVEL=0: this client really offers TLS 1.0/1.1, so the refusal comes from the server.
    old = client.request(
        "/healthz", extra=["--tlsv1.0", "--tls-max", "1.1", "--ciphers", "DEFAULT:@SECLEVEL=0"]
    )
    assert old.rc == CURL_SSL_CONNECT_ERROR, old
    assert "protocol version" in old.stderr, old.stderr
    # A TLS 1.2 cipher outside Mozilla's intermediate list (no forward secrecy) is refused.
    weak = client.request(
        "/healthz",
        extra=["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "AES128-SHA:@SECLEVEL=0"],
    )
    assert weak.rc == CURL_SSL_CONNECT_ERROR, weak


def test_static_files_come_from_nginx_with_long_cache(client):
    css = client.request("/static/admin/css/base.css")
    assert css.status == 200
    assert "text/css" in (css.header("content-type") or "")
    assert css.header("server") == "nginx"
    # Served from disk by nginx: no app headers (the app would add its X-App-Revision only on
    # probes, but it always sets Vary/Cross-Origin headers that nginx does not).
    assert css.header("cross-origin-opener-policy") is None
    assert css.header("expires") and "max-age=" in (css.header("cache-control") or "")

    # Hashed names (ManifestStaticFilesStorage) are cached for a year, immutable.
    manifest = client.request("/static/staticfiles.json")
    assert manifest.status == 200
    hashed = manifest.json()["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    long = client.request(f"/static/{hashed}")
    assert long.status == 200
    assert long.header("cache-control") == "public, max-age=31536000, immutable"


def test_admin_login_page_loads(client, admin_url):
    resp = client.request(f"/{admin_url}login/")
    assert resp.status == 200, resp.body[:500]
    assert 'name="username"' in resp.body
    assert 'name="password"' in resp.body
    assert "csrfmiddlewaretoken" in resp.body


def test_swagger_ui_loads_its_local_assets(client):
    page = client.request("/api/docs/")
    assert page.status == 200
    csp = page.header("content-security-policy") or ""
    assert "script-src 'self'" in csp
    # Every script the page loads is local and served.
    scripts = re.findall(r'<script src="([^"]+)"', page.body)
    assert scripts, page.body[:500]
    for src in scripts:
        assert src.startswith("/"), src
        assert client.request(src.replace("&amp;", "&")).status == 200, src
    schema = client.request("/api/schema/")
    assert schema.status == 200


def test_auth_endpoints_are_rate_limited_by_nginx(client):
    """A burst on /api/v1/auth/token/ gets 429 from nginx (limit_req), before Django sees it."""
    url = f"https://{client.server_name}/api/v1/auth/token/"
    n = 40
    # curl's request options are global: given once, they apply to every URL (given once per
    # URL, each request carried 40 Content-Type headers, which Gunicorn refuses with a 400).
    argv = client.burst_argv(n) + [
        "--request",
        "POST",
        "--header",
        "Content-Type: application/json",
        "--data",
        '{"username": "nobody", "password": "wrong"}',
        "--write-out",
        # nginx's own 429 is JSON too (its error_page), with Retry-After but without the
        # Allow header every answer of the app's views carries.
        "%{http_code} %{content_type} retry=%header{retry-after} allow=%header{allow}\\n",
    ]
    for _ in range(n):
        argv += ["--output", "/dev/null", url]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    results = [line.split(" ", 3) for line in proc.stdout.splitlines() if line.strip()]
    assert len(results) == n, proc.stdout + proc.stderr
    nginx_429 = [r for r in results if r[0] == "429" and r[3] == "allow="]
    answered_by_app = [r for r in results if r[3] != "allow="]
    # Every answer is JSON; nginx's 429 says when to retry.
    assert all(r[1] == "application/json" for r in results), results
    assert all(r[2] == "retry=1" for r in nginx_429), results
    print(
        f"\nburst of {n}: {len(nginx_429)} x 429 from nginx, {len(answered_by_app)} reached the app"
    )
    assert nginx_429, results
    assert answered_by_app, results


def test_a_body_over_nginx_limit_is_a_json_413(client, tmp_path):
    """nginx refuses it (client_max_body_size) with JSON, as the app would, before the app."""
    body = tmp_path / "big.json"
    body.write_text('{"title": "big", "content": "' + "x" * (2 * 1024 * 1024) + '"}')
    resp = client.request(
        "/api/v1/posts/",
        method="POST",
        headers={"Content-Type": "application/json"},
        extra=["--data-binary", f"@{body}"],
    )
    assert resp.status == 413, resp
    assert resp.header("content-type") == "application/json"
    assert resp.json() == {"detail": "Request body too large: at most 1m."}
    assert resp.header("x-content-type-options") == "nosniff"


# What a suite's `from support.https_api import *` collects: every test, in the order above
# (pytest collects a module's tests in the order their names were bound).
__all__ = [name for name in tuple(globals()) if name.startswith("test_")]
