"""podman for the container tests: its settings, and the local stand-ins of the base images.

No image registry is reachable here, so every image docker-compose.yml and the Dockerfile name
(python:3.12-slim, postgres:16, nginx:1.27) is a local stand-in built from the Debian 12 root
file system the e2e test bed caches (tests/e2e/testbed/rootfs.py), plus Debian packages. Each
stand-in is cached under a tag derived from its inputs (the rootfs tarball and its Containerfile
directory), so later runs rebuild only what changed. To build (or reuse) and tag them by hand:

    cd tests && ../.venv/bin/python -m containers.podman standins
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from e2e.testbed import releases, rootfs_tarball
from support.paths import REPO

HERE = Path(__file__).resolve().parent

# Project-local podman settings (runc, cgroupfs, ulimits): /etc/containers is left alone.
CONTAINERS_CONF = HERE / "containers.conf"
PREFIX = "boardctr"
# The names the Dockerfile and docker-compose.yml use -> the stand-in that plays each.
STANDINS = {
    "python": "docker.io/library/python:3.12-slim",
    "postgres": "docker.io/library/postgres:16",
    "nginx": "docker.io/library/nginx:1.27",
    "redis": "docker.io/library/redis:7",
}


def env() -> dict[str, str]:
    return dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF))


def podman(*args: str, check: bool = True, capture: bool = True, env_extra=None, **kw):
    """podman with the project's settings; env_extra reaches it through the environment only."""
    r = subprocess.run(
        ["podman", *args],
        env=dict(env(), **(env_extra or {})),
        text=True,
        capture_output=capture,
        check=False,
        **kw,
    )
    if check and r.returncode != 0:
        out = f"\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}" if capture else ""
        raise RuntimeError(f"podman {' '.join(args)} failed (rc={r.returncode}){out}")
    return r


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for f in files:
            h.update(str(f.relative_to(root.parent)).encode())
            h.update(f.read_bytes() if f.stat().st_size < 1 << 20 else str(f.stat()).encode())
    return h.hexdigest()[:12]


def log(msg: str) -> None:
    print(f"[containers] {msg}", file=sys.stderr, flush=True)


def base_image() -> str:
    """The cached Debian 12 rootfs (the e2e test bed's) imported as an image."""
    tarball = rootfs_tarball(releases.CONTAINER_BASE)
    ref = f"localhost/{PREFIX}-debian-base:{tarball.name.split('.')[0].rsplit('-', 1)[-1]}"
    if not image_exists(ref):
        log(f"importing {tarball} as {ref}")
        with open(tarball, "rb") as f:
            podman("import", "--change", 'CMD ["/bin/sh"]', "-", ref, stdin=f)
    return ref


def build_standins() -> dict[str, str]:
    """Build the missing stand-ins and tag them with the official names; name -> cached tag."""
    base = base_image()
    built = {}
    for name, official in STANDINS.items():
        context = HERE / "standins" / name
        ref = f"localhost/{PREFIX}-standin-{name}:{_digest(context)}-{base.rsplit(':', 1)[1]}"
        if not image_exists(ref):
            log(f"building the {official} stand-in ({ref})")
            podman(
                "build",
                "--isolation=chroot",
                "--pull=never",
                "--build-arg",
                f"BASE={base}",
                "-t",
                ref,
                str(context),
                capture=False,
            )
        podman("tag", ref, official)
        built[name] = ref
    return built


CONTAINER_TOOLS = ("podman", "runc", "netavark", "aardvark-dns", "iptables")


def ensure_tools() -> None:
    """podman, runc and netavark (and what they need), installed when missing."""
    script = REPO / "scripts" / "install-debian-packages.sh"
    subprocess.run([str(script), *CONTAINER_TOOLS], check=True)


if __name__ == "__main__":
    if sys.argv[1:] != ["standins"]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    ensure_tools()
    for name, ref in build_standins().items():
        print(f"{STANDINS[name]} <- {ref}")
