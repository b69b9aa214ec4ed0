"""Disposable Debian servers for the end-to-end tests.

A Debian minbase root filesystem (debootstrap, cached as a tarball per release; which
topology boots which release is releases.py's) is booted
with systemd-nspawn inside a private network namespace joined to the host by a
veth pair.  The host side runs tinyproxy so that apt on the test server can
reach the distribution archive; nothing else leaves the namespace.

Usable from pytest (see conftest.py) and as a CLI, run from the repository root::

    python -m tests.e2e.testbed up      # build/boot, print connection details
    python -m tests.e2e.testbed ssh [CMD...]
    python -m tests.e2e.testbed status
    python -m tests.e2e.testbed down
    python -m tests.e2e.testbed build [--release trixie]   # only build a cached rootfs

A lab is three such servers, ``db``, ``app1`` and ``app2``, on one private /24: a bridge in
the lab's own network namespace, joined to the host (the controller, ``.1``) by a veth pair;
each server keeps its own namespace, paired with a port of the bridge::

    python -m tests.e2e.testbed lab-up
    python -m tests.e2e.testbed lab-ssh db|app1|app2 [CMD...]
    python -m tests.e2e.testbed lab-status
    python -m tests.e2e.testbed lab-down

Environment:
    TESTBED_NAME           instance name (default ``boardtest``); names the netns,
                           the veth pair, the state dir and the container hostname.
    TESTBED_SUBNET_PREFIX  first three octets of a /30 (default ``10.231.7``):
                           host side ``.1``, server ``.2``.
    TESTBED_MIRROR         Debian mirror URL override (default: read from the
                           machine's apt sources).
    TESTBED_CACHE_DIR      rootfs tarball cache (default /var/cache/board-testbed).
    TESTBED_KEEP_ROOTFS    if set to 1, ``down`` keeps the extracted rootfs.
    TESTBED_LAB_NAME       lab name (default ``boardlab``): the lab's netns ``tb-<lab>``,
                           bridge, veth pair and state dir; servers ``<lab>-db``,
                           ``<lab>-app1``, ``<lab>-app2``.  Not the name of a single test bed.
    TESTBED_LAB_SUBNET_PREFIX  first three octets of the lab's /24 (default ``10.231.40``):
                           host side ``.1``, servers ``.11``, ``.12``, ``.13``.

Processes are only ever stopped by the PID this package recorded (or, for the
leftovers of a crashed run, by the PID of the systemd-nspawn process whose
command line names this instance's network namespace).

Modules, one job each:
    host_tools   the controller's tools (debootstrap, nspawn, tinyproxy, ...)
    releases     which Debian release each topology boots
    mirror       the Debian archive this machine uses
    rootfs       the cached rootfs tarball and its per-run copy
    workdir      the per-run work directory and its safe removal
    network      the network namespace and veth pair (a lab's: the bridge and its ports)
    proxy        tinyproxy on the host side of the veth
    nspawn       the systemd-nspawn process that boots the server
    ssh          ssh to the server, and the ssh config / inventory for clients
    state        the state file that lets ``down`` find a run again
    processes    PID discovery and termination (always by PID)
    server       ``Testbed``: one booted server, up to down
    lab          ``Lab``: three servers (``LabServer``, a ``Testbed``) on one bridge
    __main__     the CLI
"""

from .host_tools import ensure_host_packages
from .lab import Lab, LabServer
from .mirror import apt_mirror
from .rootfs import cache_dir, rootfs_tarball
from .server import Testbed

__all__ = [
    "Lab",
    "LabServer",
    "Testbed",
    "apt_mirror",
    "cache_dir",
    "ensure_host_packages",
    "rootfs_tarball",
]
