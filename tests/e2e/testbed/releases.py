"""Which Debian release each kind of test server boots: the one home for that choice.

The topologies are split across the releases rather than each run on both: the single-server
suite (tests/e2e) boots Debian 12 and the three-server lab (tests/e2e_multihost) Debian 13, so
every ``make test`` proves both. Both come from the Debian archive this machine's apt sources
name (mirror.py).
"""

from __future__ import annotations

# codename -> Debian version (``VERSION_ID`` in /etc/os-release, Ansible's major version)
VERSIONS = {"bookworm": "12", "trixie": "13"}

SINGLE_SERVER = "bookworm"  # tests/e2e's Testbed
LAB = "trixie"  # tests/e2e_multihost's Lab (db, app1, app2)
CONTAINER_BASE = "bookworm"  # tests/containers' stand-in images


def check(release: str) -> str:
    if release not in VERSIONS:
        raise ValueError(f"unknown Debian release {release!r} (one of {', '.join(VERSIONS)})")
    return release
