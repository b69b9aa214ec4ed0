"""The test bed's CLI: ``python -m tests.e2e.testbed up|ssh|status|down|build [--release R]``
(repo root),
and for the three-server lab ``lab-up|lab-status|lab-down|lab-ssh HOST [CMD...]``.

Reads the same TESTBED_* environment as the pytest fixtures, so ``E2E_KEEP=1`` sessions can
be inspected and stopped with the same TESTBED_NAME (a lab: TESTBED_LAB_NAME).

``tests/`` stays a namespace package (no ``__init__.py``) on purpose: ``app/tests`` is the
regular package ``tests`` on pytest's pythonpath, so a second one would make a session that
collects both ``app/tests`` and ``tests/e2e`` fail to import ``tests.e2e``.  Hence run this
from the repository root without ``app`` on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __doc__ as package_doc
from . import releases
from .lab import Lab
from .rootfs import rootfs_tarball
from .server import Testbed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.e2e.testbed", description=package_doc.split("\n\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="build (if needed) and boot the test server")
    sub.add_parser("down", help="stop the test server and remove everything")
    sub.add_parser("status", help="print connection details")
    p_build = sub.add_parser("build", help="only build the cached rootfs tarball")
    p_build.add_argument(
        "--release",
        choices=list(releases.VERSIONS),
        default=releases.SINGLE_SERVER,
        help=f"Debian release (default {releases.SINGLE_SERVER}; the lab's is {releases.LAB})",
    )
    p_ssh = sub.add_parser("ssh", help="ssh to the test server as root")
    p_ssh.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("lab-up", help="boot the lab's three servers (db, app1, app2)")
    sub.add_parser("lab-down", help="stop the lab and remove everything")
    sub.add_parser("lab-status", help="print the lab's connection details")
    p_lab_ssh = sub.add_parser("lab-ssh", help="ssh to a lab server as root")
    p_lab_ssh.add_argument("host", help="db, app1, app2, a machine name or an IP")
    p_lab_ssh.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("testbed needs root (netns, nspawn)", file=sys.stderr)
        return 2
    if args.cmd.startswith("lab-"):
        return _lab(args)
    tb = Testbed()
    if args.cmd == "up":
        tb.up()
        print(tb.describe())
    elif args.cmd == "down":
        tb.down()
    elif args.cmd == "build":
        print(rootfs_tarball(args.release))
    elif args.cmd == "status":
        if tb.workdir is None:
            print(f"{tb.name}: not up")
            return 1
        print(tb.describe())
    elif args.cmd == "ssh":
        if tb.workdir is None:
            print(f"{tb.name}: not up", file=sys.stderr)
            return 1
        # like ssh(1): the remote shell sees the arguments joined by spaces
        cmd = " ".join(args.command) if args.command else None
        _exec_ssh(tb, cmd)
    return 0


def _lab(args: argparse.Namespace) -> int:
    lab = Lab()
    if args.cmd == "lab-up":
        lab.up()
        print(lab.describe())
    elif args.cmd == "lab-down":
        lab.down()
    elif args.cmd == "lab-status":
        if lab.workdir is None:
            print(f"lab {lab.name}: not up")
            return 1
        print(lab.describe())
    elif args.cmd == "lab-ssh":
        if lab.workdir is None:
            print(f"lab {lab.name}: not up", file=sys.stderr)
            return 1
        try:
            srv = lab.server(args.host)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        _exec_ssh(srv, " ".join(args.command) if args.command else None)
    return 0


def _exec_ssh(tb: Testbed, cmd: str | None) -> None:
    argv2 = tb.ssh_argv(cmd)
    if cmd is None:
        argv2.insert(1, "-t")
    os.execvp(argv2[0], argv2)


if __name__ == "__main__":
    sys.exit(main())
