"""The controller's own tools the test bed needs, installed from Debian packages when missing."""

from __future__ import annotations

import shutil
from pathlib import Path

from .commands import log, run

# The repository's one installer of Debian packages: it takes the lock every suite's install
# takes, so suites started side by side never run `apt-get update` at the same moment.
INSTALL = Path(__file__).resolve().parents[3] / "scripts/install-debian-packages.sh"

HOST_PACKAGES = {
    # executable -> Debian package providing it
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "tinyproxy": "tinyproxy",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    # the ACME server of tests/e2e_multihost/test_acme.py (support/acme_server.py)
    "pebble": "pebble",
    "pebble-challtestsrv": "pebble",
}
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def ensure_host_packages() -> None:
    missing = sorted({pkg for exe, pkg in HOST_PACKAGES.items() if shutil.which(exe) is None})
    # An Ubuntu controller (a CI runner) needs Debian's keys to verify the bookworm archive.
    if not Path(DEBIAN_KEYRING).is_file():
        missing.append("debian-archive-keyring")
    if not missing:
        return
    log(f"installing host packages: {' '.join(missing)}")
    run([str(INSTALL), *missing])
