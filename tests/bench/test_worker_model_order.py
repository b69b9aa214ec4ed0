"""Figure 7's repetitions alternate the order of the worker models (bench/run.py)."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


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
