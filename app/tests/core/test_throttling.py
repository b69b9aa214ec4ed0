import pytest
from django.urls import reverse
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db


def test_auth_endpoints_have_the_strict_scope_from_settings(api):
    assert api_settings.DEFAULT_THROTTLE_RATES["auth"] == "20/min"
    for _ in range(20):
        assert api.post(reverse("token"), {"username": "x", "password": "y"}).status_code == 401
    response = api.post(reverse("token"), {"username": "x", "password": "y"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "detail" in response.json()


def test_register_shares_the_auth_scope(api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "2/min")
    for i in range(2):
        api.post(reverse("register"), {"username": f"u{i}", "password": "short"})
    assert api.post(reverse("register"), {"username": "u9", "password": "x"}).status_code == 429


def test_anonymous_rate(api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/min")
    codes = [api.get(reverse("post-list")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_user_rate(author_client, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/min")
    codes = [author_client.get(reverse("post-list")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_client_cannot_pick_its_throttle_key_behind_one_proxy(api, monkeypatch, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/min")
    codes = []
    for i in range(4):
        # The client forges the first entry; the proxy appends the address it really saw.
        forwarded = f"198.51.100.{i}, 203.0.113.7"
        codes.append(api.get(reverse("post-list"), HTTP_X_FORWARDED_FOR=forwarded).status_code)
    assert codes == [200, 200, 200, 429]
    # A different real client is counted separately.
    other = api.get(reverse("post-list"), HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 200
