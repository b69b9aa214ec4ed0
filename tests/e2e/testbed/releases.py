"""Which Debian release each kind of test server boots: the one home for that choice.

Both topologies boot Debian 12 for now. The roles carry Debian 13 settings, and the three-server
suite passed whole on a Debian 13 lab (``Lab(release="trixie")``) until the lab's backup server
came: on Debian 13 the backup server's first full backup into repo2 fails (not yet diagnosed).
Both releases come from the Debian archive this machine's apt sources name (mirror.py).
"""

from __future__ import annotations

# codename -> Debian version (``VERSION_ID`` in /etc/os-release, Ansible's major version)
VERSIONS = {"bookworm": "12", "trixie": "13"}

SINGLE_SERVER = "bookworm"  # tests/e2e's Testbed
LAB = "bookworm"  # tests/e2e_multihost's Lab (db, app1, app2)
CONTAINER_BASE = "bookworm"  # tests/containers' stand-in images


def check(release: str) -> str:
    if release not in VERSIONS:
        raise ValueError(f"unknown Debian release {release!r} (one of {', '.join(VERSIONS)})")
    return release
