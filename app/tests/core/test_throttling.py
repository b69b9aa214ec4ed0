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


def test_make_run_limits_exactly_across_its_two_workers(tmp_path):
    """`make run`'s setup, for real: Gunicorn with two worker processes on a SQLite database and
    no Redis. The throttle counters are in the database cache, so the rate holds across both
    workers (per-process memory would let each worker count on its own)."""
    import http.client
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    app_dir = Path(__file__).resolve().parents[2]
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE=os.devnull,
        SECRET_KEY="k" * 50,
        SECURE_SSL_REDIRECT="False",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        THROTTLE_ANON_RATE="5/min",
    )
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        subprocess.run([*manage, *command], cwd=app_dir, env=env, check=True, capture_output=True)  # noqa: S603
    sock_path = tmp_path / "gunicorn.sock"
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "--bind", f"unix:{sock_path}", "--workers", "2"]
        + ["config.wsgi:application"],
        cwd=app_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(str(sock_path))

    def get() -> int:
        conn = UnixConnection("localhost")  # a new connection each: either worker may answer
        conn.request("GET", "/api/v1/posts/", headers={"Host": "localhost"})
        status = conn.getresponse().status
        conn.close()
        return status

    try:
        for _ in range(100):
            if sock_path.exists() and get() == 200:
                break
            time.sleep(0.1)
        else:
            pytest.fail(server.stderr.read1().decode() if server.stderr else "no server")
        # Both workers must be up before counting (the readiness request above counted one).
        time.sleep(1.0)
        codes = [get() for _ in range(8)]
    finally:
        server.terminate()
        server.wait(10)
    assert codes == [200] * 4 + [429] * 4, codes


def test_anonymous_rate_on_redis_answers_429_with_retry_after(api, redis_cache, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/min")
    responses = [api.get(reverse("post-list")) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert 0 < int(responses[3]["Retry-After"]) <= 60
    # A refused request is not counted: the window still holds exactly the 3 that passed.
    from django.core.cache import caches

    key = caches["default"].make_and_validate_key("throttle_anon_127.0.0.1")
    client = caches["default"]._cache.get_client(key)
    assert client.zcard(key) == 3
    assert 0 < client.ttl(key) <= 60


def test_concurrent_requests_never_pass_the_limit_on_redis(redis_cache, monkeypatch):
    """Twenty requests of one client at the same instant, from twenty threads (each with its own
    Redis connection, as separate workers would be): exactly the limit passes."""
    import threading

    from django.contrib.auth.models import AnonymousUser
    from rest_framework.test import APIRequestFactory

    from core.throttling import AnonRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "5/min")
    request = APIRequestFactory().get("/api/v1/posts/", REMOTE_ADDR="192.0.2.7")
    request.user = AnonymousUser()
    start, results = threading.Barrier(20), []

    def one():
        throttle = AnonRateThrottle()
        start.wait()
        results.append(throttle.allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results.count(True) == 5, results
