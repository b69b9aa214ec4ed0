"""The test bed's CLI: ``python -m tests.e2e.testbed up|ssh|status|down|build`` (repo root).

Reads the same TESTBED_* environment as the pytest fixtures, so ``E2E_KEEP=1`` sessions can
be inspected and stopped with the same TESTBED_NAME.

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
    sub.add_parser("build", help="only build the cached rootfs tarball")
    p_ssh = sub.add_parser("ssh", help="ssh to the test server as root")
    p_ssh.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("testbed needs root (netns, nspawn)", file=sys.stderr)
        return 2
    tb = Testbed()
    if args.cmd == "up":
        tb.up()
        print(tb.describe())
    elif args.cmd == "down":
        tb.down()
    elif args.cmd == "build":
        print(rootfs_tarball())
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
        argv2 = tb.ssh_argv(cmd)
        if cmd is None:
            argv2.insert(1, "-t")
        os.execvp(argv2[0], argv2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
