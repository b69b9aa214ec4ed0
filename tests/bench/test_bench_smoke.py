"""`make test-bench`: the bench's code on a tiny data set, so it cannot rot.

One real run of `python -m bench` (PostgreSQL, Redis, Gunicorn, Nginx, wrk, pgBackRest, as
`make bench`) with 300 posts, one repetition and one-second wrk runs. The figures of so small a
run mean nothing and are not judged; what is asserted is that the run measures what it claims:
the baselines answer the API's bytes, every figure is there and is a number, the connection
counts tell persistent connections from none, the deploy step marks a restore point and applies
its migration at both sizes, the restored copy counts the posts the live cluster has, the chart
is drawn, and nothing the bench started or wrote is left behind.
"""

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from support.paths import REPO
from support.roles import role_default

FIGURES = [
    "1_list",
    "2_detail",
    "2_comments",
    "3_deep_page",
    "4_search",
    "4_tag",
    "5_writes",
    "6_queries",
    "6_connections",
    "7_worker_models",
    "8_tail",
    "9_memory",
    "10_deploy",
    "11_rto",
]
# Where pgBackRest writes by default (log-path, lock-path): the bench must write under its own
# directory only.
PGBACKREST_DEFAULT_DIRS = [Path("/var/log/pgbackrest"), Path("/tmp/pgbackrest")]


def _listing(paths):
    return {str(p): sorted(c.name for c in p.iterdir()) if p.is_dir() else None for p in paths}


@pytest.fixture(scope="module")
def workdir():
    # Not under pytest's 0700 tmp root: the cluster runs as the `postgres` user, who must reach it.
    path = Path(tempfile.mkdtemp(prefix="board-bench-test."))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def bench(tmp_path_factory, workdir):
    work, out = workdir, tmp_path_factory.mktemp("out")
    env = {
        **os.environ,
        "BENCH_ROWS": "300",
        "BENCH_REPS": "1",
        "BENCH_DURATION": "1",
        "BENCH_WARMUP": "1",
        "BENCH_TAIL_SECONDS": "1",
        "BENCH_MEMORY_REQUESTS": "300",
        "BENCH_QUERY_REQUESTS": "10",
        "BENCH_WORKER_MODELS": "sync:2:1",
        "BENCH_MODEL_REPS": "2",
        "BENCH_MODEL_DURATION": "1",
        "BENCH_DEPLOY_REPS": "1",
        "BENCH_OUT": str(out),
        "BENCH_WORKDIR": str(work),
    }
    before = _listing(PGBACKREST_DEFAULT_DIRS)
    proc = subprocess.run(
        [sys.executable, "-m", "bench"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    return {
        "stdout": proc.stdout,
        "results": results,
        "out": out,
        "work": work,
        "pgbackrest_dirs": (before, _listing(PGBACKREST_DEFAULT_DIRS)),
    }


def test_the_baselines_answer_the_apis_bytes(bench):
    check = bench["results"]["baseline_check"]
    assert set(check) == {"list", "detail", "comments"}
    for name, result in check.items():
        assert result["json_identical"] and result["bytes_identical"], name
        assert result["bytes"] > 100, name


def test_every_figure_is_a_number(bench):
    results = bench["results"]
    for key in FIGURES:
        value = results[key]["value"]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), key
        assert math.isfinite(value) and value >= 0, (key, value)
    # Ratios of two measured rates or latencies cannot be zero.
    for key in ("1_list", "2_detail", "2_comments", "3_deep_page", "4_search", "4_tag"):
        assert results[key]["value"] > 0, key
    assert results["5_writes"]["a"]["rps"] > 0, "no post was created"
    assert results["9_memory"]["requests"] >= 300
    assert all(r > 0 for r in results["9_memory"]["rss_after_kib"])
    # Figure 7 pairs every other model with production in each of its repetitions.
    (pair,) = results["7_worker_models"]["against_production"]
    assert pair["model"] == "sync 2x1" and pair["pairs"] == 2 and pair["ratio_median"] > 0


def test_reads_answered_without_errors(bench):
    for name, result in bench["results"]["endpoints"].items():
        assert result["errors"] == 0, name
        assert result["rps"] > 0, name


def test_connection_counts_tell_persistent_from_per_request(bench):
    connections = bench["results"]["6_connections"]
    # CONN_MAX_AGE=0: one new database session per request; persistent: (almost) none.
    assert connections["conn_max_age_0"] >= 0.9
    assert connections["persistent_conn_max_age_60"] <= 0.1
    queries = bench["results"]["6_queries"]["per_endpoint"]
    assert queries["list"] >= 2  # posts, then their tags in one prefetch
    assert queries["list"] == pytest.approx(queries["list_100"], abs=0.25)


def test_the_deploy_step_marks_a_restore_point_and_migrates_at_both_sizes(bench):
    deploy = bench["results"]["10_deploy"]
    assert deploy["migration"].endswith("_bench_expand")
    assert (deploy["a"]["posts"], deploy["b"]["posts"]) == (300, 1000)
    for side in (deploy["a"], deploy["b"]):
        # The expand migration's column exists after each timed run: the migration was applied.
        assert side["applied"] and side["runs"] == 1, side
        for lsn in side["restore_point_lsns"]:
            assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", lsn), lsn
        for key in ("seconds", "restore_point_s", "migrate_s", "pg_dump_s"):
            assert math.isfinite(side[key]) and side[key] > 0, (key, side)
        assert side["pg_dump_bytes"] > 0 and side["database_bytes"] > 0
    assert deploy["value"] > 0 and deploy["pg_dump_ratio"] > 0


def test_the_restored_copy_counts_the_live_posts(bench):
    rto = bench["results"]["11_rto"]
    # Every post the live cluster had (the loaded ones and those figure 5 created).
    assert rto["posts_restored"] == rto["posts_live"] and rto["posts_live"] >= 300
    assert rto["restore_s"] > 0 and rto["start_s"] > 0
    assert rto["value"] == pytest.approx(rto["restore_s"] + rto["start_s"])
    backup = rto["backup"]
    assert backup["type"] == "full" and backup["seconds"] > 0
    assert 0 < backup["repository_bytes"] < backup["database_bytes"]
    # The repository is encrypted and compressed as the backup role configures production's.
    template = (REPO / "deploy/roles/backup/templates/pgbackrest.conf.j2").read_text()
    assert backup["cipher"] == re.search(r"^repo1-cipher-type=(\S+)$", template, re.M)[1]
    assert backup["compress_type"] == role_default("backup", "backup_compress_type")


def test_the_table_and_the_chart(bench):
    rows = ("| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 6 |", "| 7 |", "| 8 |", "| 9 |")
    for row in (*rows, "| 10 |", "| 11 |"):
        assert row in bench["stdout"]
    png = (bench["out"] / "results.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def _cmdlines():
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            yield cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue


def test_the_machine_is_left_as_found(bench):
    work, stack = bench["work"], bench["results"]["stack"]
    assert list(work.iterdir()) == [], "the bench left files behind"
    assert stack["dir"].startswith(str(work))
    leftovers = [c for c in _cmdlines() if stack["dir"] in c]
    assert leftovers == [], leftovers
    for port in stack["ports"]:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listening"
    before, after = bench["pgbackrest_dirs"]
    assert after == before, "pgBackRest wrote outside the bench's directory"
