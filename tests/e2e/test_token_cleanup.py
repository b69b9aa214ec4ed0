"""The app role's daily timer deletes expired refresh tokens on the server; live ones stay."""

from __future__ import annotations

import shlex

TIMER = "board-flush-expired-tokens.timer"
SERVICE = "board-flush-expired-tokens.service"

SEED = """
from datetime import timedelta
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken as Token
now, day = timezone.now(), timedelta(days=1)
Token.objects.create(jti='e2e-expired', token='-', created_at=now - 9 * day, expires_at=now - day)
Token.objects.create(jti='e2e-live', token='-', created_at=now, expires_at=now + 7 * day)
"""
LIST = """
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken as Token
jtis = Token.objects.filter(jti__startswith='e2e-').values_list('jti', flat=True)
print(' '.join(sorted(jtis)))
"""
CLEAN = """
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
OutstandingToken.objects.filter(jti__startswith='e2e-').delete()
"""


def _shell(provisioned, code: str) -> str:
    return provisioned.sh(f"board-manage --as app -- shell --no-imports -c {shlex.quote(code)}")


def test_the_timer_deletes_expired_refresh_tokens_and_keeps_live_ones(provisioned):
    assert provisioned.sh(f"systemctl is-enabled {TIMER}; systemctl is-active {TIMER}").split() == [
        "enabled",
        "active",
    ]
    _shell(provisioned, SEED)
    try:
        assert _shell(provisioned, LIST) == "e2e-expired e2e-live"
        # What the timer starts (a oneshot: systemctl returns when it has finished).
        provisioned.sh(f"systemctl start {SERVICE}")
        assert provisioned.sh(f"systemctl show -P Result {SERVICE}") == "success"
        assert _shell(provisioned, LIST) == "e2e-live"
    finally:
        _shell(provisioned, CLEAN)
