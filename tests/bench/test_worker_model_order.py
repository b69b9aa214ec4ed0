"""Figure 7's repetitions alternate the order of the worker models (bench/run.py)."""

import json
import subprocess
import sys

from support.paths import REPO


def _order(items: list[str], reps: int) -> list[list[str]]:
    # In a subprocess from the repository root: in this process `bench` is the tests package.
    code = "import json; from bench.run import interleaved_order; "
    code += f"print(json.dumps(interleaved_order({items!r}, {reps})))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_each_repetition_runs_every_model_forward_then_backward():
    # No model always follows the same one, so a restart's after-effects do not favour one.
    assert _order(["a", "b", "c"], 3) == [["a", "b", "c"], ["c", "b", "a"], ["a", "b", "c"]]
    assert _order(["a", "b"], 1) == [["a", "b"]]


def _against_production(spec: dict[str, list[float]]) -> dict[str, dict]:
    # Models named "class:workers:threads"; production is gthread 5x2, as on 2 cores.
    rows = {}
    for name, rates in spec.items():
        worker_class, workers, threads = name.split(":")
        rows[(worker_class, int(workers), int(threads))] = [{"rps": x} for x in rates]
    code = "import json; from bench.run import against_production; "
    code += f"print(json.dumps(against_production({rows!r}, ('gthread', 5, 2))))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return {p["model"]: p for p in json.loads(out.stdout)}


def test_a_model_is_faster_only_when_it_wins_beyond_chance():
    # Production drifts from 100 to 180 req/s across the repetitions; pairs cancel the drift.
    production = [100, 110, 120, 130, 140, 150, 160, 170, 180]
    pairs = _against_production(
        {
            "gthread:5:2": production,
            # 3 % ahead in every repetition: 9 of 9 pairs, p = 1/512.
            "sync:2:1": [x * 1.03 for x in production],
            # 8 of 9 (p = 10/512 < 0.05), though one loss is large.
            "gthread:2:2": [x * 1.05 for x in production[:8]] + [120],
            # 7 of 9 (p = 46/512 > 0.05): not faster, whatever its best runs were.
            "gthread:2:4": [x * 1.4 for x in production[:7]] + [100, 120],
            # 1 % behind in every repetition: slower, though its best run (178) beats most of
            # production's.
            "sync:3:1": [x * 0.99 for x in production],
        }
    )
    assert pairs["sync 2x1"]["faster"] and pairs["sync 2x1"]["wins"] == 9
    assert pairs["sync 2x1"]["p_faster"] == 1 / 512
    assert pairs["gthread 2x2"]["faster"] and pairs["gthread 2x2"]["p_faster"] == 10 / 512
    assert not pairs["gthread 2x4"]["faster"] and pairs["gthread 2x4"]["p_faster"] == 46 / 512
    assert pairs["gthread 2x4"]["ratio_max"] == 1.4
    assert not pairs["sync 3x1"]["faster"] and pairs["sync 3x1"]["slower"]
    assert not pairs["sync 2x1"]["slower"]
    assert "gthread 5x2" not in pairs
