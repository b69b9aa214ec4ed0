"""BENCH_FIGURES picks the groups of figures a run measures (bench/run.py)."""

import json
import subprocess
import sys

from support.paths import REPO


def _groups(spec: str) -> subprocess.CompletedProcess:
    # In a subprocess from the repository root: in this process `bench` is the tests package.
    code = "import json; from bench.run import figure_groups; "
    code += f"print(json.dumps(figure_groups({spec!r})))"
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)


def test_every_group_when_none_is_named():
    assert json.loads(_groups("").stdout) == ["serving", "recovery"]


def test_the_named_groups_in_the_benchs_order():
    assert json.loads(_groups("recovery").stdout) == ["recovery"]
    assert json.loads(_groups(" recovery , serving ").stdout) == ["serving", "recovery"]


def test_an_unknown_group_stops_the_run():
    proc = _groups("serving,rto")
    assert proc.returncode != 0
    assert "BENCH_FIGURES names no group ['rto']" in proc.stderr
