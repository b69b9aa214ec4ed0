"""Schemathesis against the app, from its live schema, with every check: schema-valid and
schema-violating requests to every operation, bounded (examples per operation, time per
example). A failure names the operation, the check and a curl command that reproduces it."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import PostFactory, UserFactory

EXAMPLES_PER_OPERATION = 20
# Schema-valid, yet refused on the server's state, which no schema can say: a username that is
# taken or a password too common (register), a wrong current password (password change).
STATEFUL_VALIDATION = {"POST /api/v1/auth/register/", "POST /api/v1/auth/password/"}


# Read from the app at collection (the schema view reads no database); one test per operation.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def bearer(db, settings):
    # Throttles would answer 429 (documented) to most examples and hide the rest.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": [],
    }
    user = UserFactory()
    # Rows for the ids the fuzzer tries first (1, 2, ...), some of them the user's own.
    PostFactory.create_batch(3, author=user)
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


# Deactivating the account would end the run's own session (tests/accounts cover it).
@schema.exclude(method="DELETE", path="/api/v1/auth/me/").parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_schema(case, bearer):
    excluded = [positive_data_acceptance] if case.operation.label in STATEFUL_VALIDATION else []
    case.call_and_validate(headers=bearer, excluded_checks=excluded)
