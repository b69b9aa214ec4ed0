"""PgBouncer on a test server (the pgbouncer role): its configuration's settings."""

from __future__ import annotations

import re

from .roles import role_default

CONF = f"{role_default('pgbouncer', 'pgbouncer_conf_dir')}/pgbouncer.ini"


def setting(server, name: str) -> int:
    """An integer setting of the pgbouncer.ini the role wrote (e.g. max_db_connections)."""
    text = server.sh(f"cat {CONF}")
    match = re.search(rf"^{name}\s*=\s*(\d+)\s*$", text, re.M)
    assert match, f"{name} not in {CONF}"
    return int(match.group(1))
