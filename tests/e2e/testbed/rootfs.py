"""The server's root filesystem: a debootstrap tree cached as a tarball, unpacked once per run.

The tarball is built once per (format, release, mirror, packages) under an exclusive file lock,
so concurrent runs on one machine share it; each run unpacks its own copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from . import releases, workdir
from .commands import log, run
from .host_tools import DEBIAN_KEYRING, ensure_host_packages
from .mirror import apt_mirror
from .processes import find_pids

ROOTFS_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "sudo",
    "iproute2",
    "ca-certificates",
]
# Bump when the rootfs preparation below changes in a way the cache must see.
ROOTFS_FORMAT = "2"


def cache_dir() -> Path:
    return Path(os.environ.get("TESTBED_CACHE_DIR", "/var/cache/board-testbed"))


def rootfs_tarball(release: str) -> Path:
    """Build (once, under an exclusive file lock) and return the cached rootfs tarball of a
    Debian release (a codename of releases.VERSIONS)."""
    suite = releases.check(release)
    mirror = apt_mirror()
    key = hashlib.sha256(
        "|".join([ROOTFS_FORMAT, suite, mirror, *ROOTFS_PACKAGES]).encode()
    ).hexdigest()[:12]
    cdir = cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    tarball = cdir / f"{suite}-minbase-{key}.tar.gz"
    with open(cdir / ".lock", "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)  # concurrent runs wait here
        if tarball.exists():
            return tarball
        ensure_host_packages()
        build = Path(tempfile.mkdtemp(prefix="build-", dir=cdir))
        try:
            rootfs = build / "rootfs"
            log(f"debootstrap {suite} from {mirror} (takes a minute or two)")
            started = time.monotonic()
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--keyring={DEBIAN_KEYRING}",
                    "--include=" + ",".join(ROOTFS_PACKAGES),
                    suite,
                    str(rootfs),
                    mirror,
                ],
                stdout=subprocess.DEVNULL,
            )
            _prepare_cached_rootfs(rootfs, suite)
            tmp = build / "rootfs.tar.gz"
            run(["tar", "-C", str(rootfs), "--numeric-owner", "-czf", str(tmp), "."])
            os.replace(tmp, tarball)
            log(f"cached rootfs at {tarball} ({time.monotonic() - started:.0f}s)")
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return tarball


def _prepare_cached_rootfs(rootfs: Path, suite: str) -> None:
    """Per-image tweaks (things that are the same for every run)."""
    # Same apt sources as a Debian controller of the same release (archive, updates and
    # security). Elsewhere (another release, an Ubuntu CI runner) or with TESTBED_MIRROR set,
    # write the release's sources from the mirror.
    host_sources = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    debian_host = host_sources and all(suite in Path(src).read_text() for src in host_sources)
    with contextlib.suppress(FileNotFoundError):
        (rootfs / "etc/apt/sources.list").unlink()
    if debian_host and not os.environ.get("TESTBED_MIRROR"):
        for src in host_sources:
            shutil.copy(src, rootfs / "etc/apt/sources.list.d" / Path(src).name)
    else:
        mirror = apt_mirror().rstrip("/")
        security = mirror + "-security" if mirror.endswith("/debian") else mirror
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
            f"Types: deb\nURIs: {mirror}\nSuites: {suite} {suite}-updates\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {security}\nSuites: {suite}-security\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
    _apply_updates(rootfs)
    run(["chroot", str(rootfs), "apt-get", "clean"])
    # No DNS inside: apt goes through the proxy, everything else uses IPs.
    for p in ["etc/resolv.conf"]:
        with contextlib.suppress(FileNotFoundError):
            (rootfs / p).unlink()
    (rootfs / "etc/resolv.conf").write_text("# no resolver inside the test server\n")
    # Host keys and machine id are generated per run.
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    # Units that cannot work in a network-less container and only add noise.
    wants = rootfs / "etc/systemd/system"
    for unit in [
        "systemd-networkd-wait-online.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
    ]:
        link = wants / unit
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to("/dev/null")


def extract(tarball: Path, rootfs: Path, hostname: str) -> None:
    """Unpack this run's copy of the tree and give it its name and a fresh machine id."""
    rootfs.mkdir()
    run(["tar", "-C", str(rootfs), "--numeric-owner", "-xzf", str(tarball)])
    (rootfs / "etc/hostname").write_text(f"{hostname}\n")
    (rootfs / "etc/hosts").write_text(
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    (rootfs / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")


def extracting(name: str) -> list[int]:
    """The tar processes unpacking into one of the instance's work dirs: after a crash
    (kill -9) during ``extract`` they run on, and would refill a work dir being removed."""
    root = f"{workdir.WORK_ROOT}/{workdir.prefix(name)}"
    return find_pids("tar", lambda args: any(a.startswith(root) for a in args))


def _apply_updates(rootfs: Path) -> None:
    """The release's updates and security updates, as a cloud image has them when it is built.
    debootstrap installs the release's own versions: without this, the base role's first run
    upgrades the same score of packages (libc, openssl, python3, ...) on every fresh server,
    about 20 s each on an idle machine and twice that during make test."""
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# No service starts in the chroot.\nexit 101\n")
    policy.chmod(0o755)
    shutil.copy("/etc/resolv.conf", rootfs / "etc/resolv.conf")  # replaced below
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for argv in (["apt-get", "-q", "update"], ["apt-get", "-q", "-y", "upgrade"]):
            run(["chroot", str(rootfs), *argv], stdout=subprocess.DEVNULL, env=env)
    finally:
        policy.unlink()
    # Like debootstrap's tree: no package lists (the base role fetches them).
    for lists in (rootfs / "var/lib/apt/lists").iterdir():
        if lists.is_file():
            lists.unlink()
