"""Metrics from every Gunicorn worker, for real: Gunicorn with the deploy's own settings file
(systemd/gunicorn.conf.py.j2, rendered as the image build does) and two workers, and the
board-metrics exporter (core/metrics_exporter.py) reading their multiprocess directory. A worker
killed with SIGKILL and replaced, and a reload (HUP), keep the totals: counters never go back."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import APP_DIR, REPO, base_env, free_port

HEALTHZ = 'board_http_requests_total{method="GET",status="200",view="healthz"}'


def _render_gunicorn_conf(tmp_path: Path) -> Path:
    # The deploy's template with the server layout under tmp_path: current/app is this app.
    root = tmp_path / "srv"
    (root / "current").mkdir(parents=True)
    (root / "current" / "app").symlink_to(APP_DIR)
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(
        f"app_root: {root}\nansible_facts: {{processor_vcpus: 1}}\n"
        "app_gunicorn_workers: 2\napp_gunicorn_threads: 2\n"
    )
    out = tmp_path / "gunicorn.conf.py"
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "renderer", "systemd/gunicorn.conf.py.j2"]
        + [str(out), "deploy/roles/board/defaults/main.yml", "deploy/roles/app/defaults/main.yml"]
        + [str(vars_file), "ansible_managed=test"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return out


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(self.path))


def _get(sock: Path, path: str = "/healthz") -> int:
    conn = UnixConnection(sock)  # a new connection each: either worker may answer
    conn.request("GET", path, headers={"Host": "localhost"})
    status = conn.getresponse().status
    conn.close()
    return status


def _scrape(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return text


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def _wait(probe, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"not true after {timeout} s")


def test_totals_from_every_worker_survive_a_killed_worker_and_a_reload(tmp_path):
    conf = _render_gunicorn_conf(tmp_path)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    sock = tmp_path / "gunicorn.sock"
    port = free_port()
    env = base_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), DATABASE_URL="sqlite://:memory:")
    gunicorn = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "-c", str(conf), "--bind", f"unix:{sock}"]
        + ["config.wsgi:application"],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    exporter = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "core.metrics_exporter", "--dir", str(metrics_dir)]
        + ["--address", "127.0.0.1", "--port", str(port)],
        cwd=APP_DIR,
        env=base_env(),
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: sock.exists() and len(_workers(gunicorn.pid)) == 2)
        _wait(lambda: _get(sock) == 200)
        statuses = [_get(sock) for _ in range(40)]
        assert statuses == [200] * 40
        # Each worker writes its counts to its memory-mapped file as it answers.
        assert _value(_scrape(port), HEALTHZ) == 41
        # Kill a worker that answered (its counts are in its own file), as the kernel's OOM killer
        # or a timeout would; Gunicorn replaces it.
        writers = {int(re.sub(r"\D", "", f.stem)) for f in metrics_dir.glob("counter_*.db")}
        victim = min(writers & _workers(gunicorn.pid))
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: victim not in _workers(gunicorn.pid) and len(_workers(gunicorn.pid)) == 2)
        assert _value(_scrape(port), HEALTHZ) == 41  # the dead worker's counts are kept
        statuses = [_get(sock) for _ in range(10)]
        assert statuses == [200] * 10
        # Other workers answered these: the total adds up the files of every worker, dead or alive.
        assert _value(_scrape(port), HEALTHZ) == 51
        writers = {f.stem for f in metrics_dir.glob("counter_*.db")}
        assert len(writers) >= 2, writers

        before_reload = _workers(gunicorn.pid)
        gunicorn.send_signal(signal.SIGHUP)
        _wait(lambda: not (_workers(gunicorn.pid) & before_reload))
        _wait(lambda: len(_workers(gunicorn.pid)) == 2)
        statuses = [_get(sock) for _ in range(5)]
        assert statuses == [200] * 5
        assert _value(_scrape(port), HEALTHZ) == 56
    finally:
        exporter.terminate()
        gunicorn.terminate()
        exporter.wait(10)
        gunicorn.wait(30)
