"""The README's picture of the overview console, taken from a provisioned test server.

    E2E_KEEP=1 .venv/bin/pytest -p no:django ... tests/e2e/test_monitoring.py   # leaves it up
    .venv/bin/python -m tests.e2e.console_screenshot docs/monitoring-console.png

Reaches Prometheus the way the README tells an operator to: an SSH tunnel to its loopback
port. Meanwhile it sends a light load (a user's writes, anonymous reads and probes) so the
console's rates have data, then photographs /consoles/board.html with headless Chromium (the
`chromium` Debian package). Reads the same TESTBED_* environment as the test bed's CLI.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.client import Client
from support.fault_load import Writer
from support.inventory import SERVER_NAME
from support.load import HttpsLoad

from .testbed import Testbed
from .tunnel import ssh_tunnel

PROMETHEUS_PORT = 9090
CONSOLE = "/consoles/board.html"


def screenshot(url: str, out: Path, size: str) -> None:
    chromium = shutil.which("chromium") or sys.exit("install Debian's chromium package")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                chromium,
                "--headless",
                # Chromium refuses its sandbox as root; the page is our own console.
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--screenshot={out.resolve()}",
                url,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
    if proc.returncode != 0 or not out.exists():
        sys.exit(f"chromium wrote no screenshot (rc={proc.returncode}):\n{proc.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the PNG to write (docs/monitoring-console.png)")
    ap.add_argument("--load-seconds", type=float, default=90, help="how long the load runs")
    ap.add_argument("--window-size", default="1100,950", help="Chromium's WIDTH,HEIGHT")
    args = ap.parse_args(argv)
    tb = Testbed()
    if tb.workdir is None:
        sys.exit(f"{tb.name} is not up: run the e2e suite with E2E_KEEP=1 first")
    with tempfile.TemporaryDirectory() as tmp:
        cert = Path(tmp) / "server.crt"
        cert.write_text(tb.sh(f"cat /etc/ssl/certs/{SERVER_NAME}.crt") + "\n")
        client = Client(tb.ip, SERVER_NAME, cert)
        reads = HttpsLoad(
            tb.ip,
            SERVER_NAME,
            str(cert),
            paths=("/api/v1/posts/", "/healthz", "/readyz", "/api/v1/posts/1/"),
            threads=2,
            rate=6,
            max_seconds=args.load_seconds + 60,
        )
        with ssh_tunnel(tb, PROMETHEUS_PORT) as port, Writer(client, interval=0.3), reads:
            # The console's rates are over 5 minutes: wait for a few scrapes of the load.
            time.sleep(args.load_seconds)
            screenshot(f"http://127.0.0.1:{port}{CONSOLE}", args.out, args.window_size)
    print(f"{args.out}: {args.out.stat().st_size // 1024} KiB; {reads.result.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
