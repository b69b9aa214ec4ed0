import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgresql` need two real concurrent connections with row locks, or its
    full-text search. They run in `make test-postgres`; on SQLite (one writer at a time, no row
    locks, an icontains search) they are skipped, which the summary (-ra) lists."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run by make test-postgres)")
    for item in items:
        if item.get_closest_marker("postgresql"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def author_client(user):
    return client_for(user)


@pytest.fixture
def other_client(db):
    return client_for(UserFactory())


@pytest.fixture
def staff_client(db):
    return client_for(UserFactory(is_staff=True))


@pytest.fixture
def clients(api, author_client, other_client, staff_client):
    """One client per role of the permission matrix; `user` is the author."""
    return {"anonymous": api, "author": author_client, "other": other_client, "staff": staff_client}
