"""board-metrics: serves what every Gunicorn worker recorded (core/metrics.py) to Prometheus.

Runs as its own small process (board-metrics.service), never inside the public site: it merges
the files the workers write in the multiprocess directory on every scrape. Counters of workers
that exited stay in their files, so totals do not go backwards when Gunicorn replaces a worker
or reloads; the directory is emptied only when gunicorn.service starts again (a counter reset
Prometheus handles). While Gunicorn is stopped the directory is gone and nothing is served.

    python -m core.metrics_exporter --dir /run/board-metrics --address 127.0.0.1 --port 9808

Imports no Django: it needs neither the settings nor their secrets.
"""

import argparse
import glob
import os

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector


class MultiprocessDirectoryCollector:
    """prometheus-client's multiprocess merge, tolerating a directory that comes and goes."""

    def __init__(self, path: str):
        self.path = path

    def collect(self):
        files = glob.glob(os.path.join(self.path, "*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir",
        default=os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""),
        help="the workers' multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)",
    )
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9808, help="port to listen on")
    args = parser.parse_args(argv)
    if not args.dir:
        parser.error("name the multiprocess directory: --dir or PROMETHEUS_MULTIPROC_DIR")
    registry = CollectorRegistry()
    registry.register(MultiprocessDirectoryCollector(args.dir))
    _, thread = start_http_server(args.port, addr=args.address, registry=registry)
    print(f"board-metrics: serving {args.dir} on {args.address}:{args.port}", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
