"""A Patroni cluster as the tests read it: its members as patronictl on a database server lists
them (the configuration file is the patroni role's), and the wait for a healthy cluster."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from support.roles import role_var

PATRONI_CONFIG = role_var("patroni", "__patroni_config")
LEADER, SYNC_STANDBY = "Leader", "Sync Standby"


@dataclass(frozen=True)
class Member:
    name: str  # the inventory hostname (patroni_name)
    role: str  # "Leader", "Sync Standby", "Replica"
    state: str  # "running" (a leader), "streaming" (a replica that receives WAL), "stopped", ...
    timeline: int | None


def members(server) -> list[Member]:
    """The cluster's members, read on `server` (a database server that reaches etcd)."""
    listed = json.loads(server.sh(f"patronictl -c {PATRONI_CONFIG} list -f json"))
    return [Member(m["Member"], m["Role"], m["State"], m.get("TL")) for m in listed]


def leader(listed: list[Member]) -> Member | None:
    return next((m for m in listed if m.role == LEADER), None)


def healthy(listed: list[Member], size: int) -> bool:
    """`size` members: one running leader, every other streaming on the leader's timeline, one
    of them synchronous (what a failover needs to lose no acknowledged commit)."""
    lead = leader(listed)
    others = [m for m in listed if m is not lead]
    return (
        len(listed) == size
        and lead is not None
        and lead.state == "running"
        and all(m.state == "streaming" and m.timeline == lead.timeline for m in others)
        and any(m.role == SYNC_STANDBY for m in others)
    )


def wait_healthy(server, size: int = 2, timeout: float = 240) -> list[Member]:
    """The members once `healthy`; fails with the last listing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: list[Member] | str = "never listed"
    while True:
        try:
            last = members(server)
        except Exception as exc:  # etcd or the REST API not answering yet: try again
            last = str(exc)
        if isinstance(last, list) and healthy(last, size):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"the Patroni cluster not healthy after {timeout:.0f} s: {last}")
        time.sleep(2)
