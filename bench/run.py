"""`make bench`: the serving figures (README, "Performance"), as ratios measured in one run.

Knobs (environment): BENCH_ROWS (posts, 100000), BENCH_REPS (repetitions of each A/B run, 5),
BENCH_DURATION (seconds per wrk run, 10), BENCH_WARMUP (seconds of warm-up per endpoint and
after each Gunicorn restart, 5),
BENCH_TAIL_SECONDS (the tail figure's constant-rate run, 60), BENCH_MEMORY_REQUESTS (100000),
BENCH_QUERY_REQUESTS (requests the query/connection counts average over, 200),
BENCH_WORKER_MODELS (class:workers:threads,... for figure 7; the production shape is added),
BENCH_MODEL_REPS (figure 7's repetitions, 9: the sign test needs 8 of 9 wins to call a model
faster), BENCH_MODEL_DURATION (seconds per figure-7 run, 15),
BENCH_OUT (where results.json and results.png go, bench/), BENCH_WORKDIR (parent of the
throwaway directory, $TMPDIR), BENCH_PG_MEMORY_MB (the server size PostgreSQL is tuned for, 4096).
BENCH_NOTE (a line on the conditions of the run, kept in results.json and printed under the table).
BENCH_FIGURES (the groups of figures to run: serving (1-9), recovery (10-11, bench/recovery.py);
all when empty; a run of some groups writes results.json only to BENCH_OUT), BENCH_DEPLOY_REPS
(figure 10's interleaved repetitions, 5).
"""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import math
import os
import secrets
import signal
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

from bench import recovery, report, wrk
from bench.stack import HOST, RUNTIME, Stack

GOALS = {
    "1_list": ">= 0.7",
    "2_detail": ">= 0.7",
    "2_comments": ">= 0.7",
    "3_deep_page": "<= 1.3",
    "4_search": "<= 2",
    "4_tag": "<= 2",
    "5_writes": "reported",
    "6_queries": "constant",
    "6_connections": "0 (persistent)",
    "7_worker_models": "none faster (sign test p < 0.05)",
    "8_tail": "<= 4, 0 errors",
    "9_memory": "reported",
    "10_deploy": "~1 (within the noise)",
    "11_rto": "reported",
}
# BENCH_FIGURES picks groups of figures (comma-separated; every group when empty).
GROUPS = ("serving", "recovery")  # 1-9, 10-11 (bench/recovery.py)
# Both worker classes at the CPU count and around it on 2 cores, and the threads doubled.
WORKER_MODELS = [("sync", 2, 1), ("sync", 3, 1), ("sync", 5, 1)]
WORKER_MODELS += [("gthread", 2, 2), ("gthread", 3, 2), ("gthread", 5, 2), ("gthread", 2, 4)]
LOAD_FRACTIONS = [0.25, 0.5, 0.75, 1.0, 1.25]
# A model is faster than production when it wins so many same-repetition pairs that fair coins
# would do so less than 5 % of the time (with 9 repetitions: 8 wins or more).
SIGN_TEST_ALPHA = 0.05


def worker_models(stack: Stack) -> list[tuple[str, int, int]]:
    """BENCH_WORKER_MODELS ("sync:5:1,gthread:5:2"), always with the production shape."""
    spec = os.environ.get("BENCH_WORKER_MODELS", "")
    models = WORKER_MODELS
    if spec:
        models = [(c, int(w), int(t)) for c, w, t in (m.split(":") for m in spec.split(","))]
    production = ("gthread", stack.workers, stack.threads)
    return models if production in models else [*models, production]


def figure_groups(spec: str) -> tuple[str, ...]:
    """BENCH_FIGURES ("recovery", "serving,recovery"): the groups to run, in GROUPS' order."""
    asked = {g.strip() for g in spec.split(",") if g.strip()} or set(GROUPS)
    unknown = asked - set(GROUPS)
    if unknown:
        raise SystemExit(f"bench: BENCH_FIGURES names no group {sorted(unknown)}: one of {GROUPS}")
    return tuple(g for g in GROUPS if g in asked)


def interleaved_order(items: list, reps: int) -> list[list]:
    """The order of each repetition: forward, then backward (A B C, C B A, A B C...)."""
    return [items if rep % 2 == 0 else items[::-1] for rep in range(reps)]


def sign_test_p(wins: int, n: int) -> float:
    """One-sided exact sign test: the chance of `wins` or more heads in `n` fair coin flips."""
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n if n else 1.0


def against_production(model_runs: dict[tuple, list[dict]], production: tuple) -> list[dict]:
    """Each model's req/s over production's in the same repetition, paired, and a sign test.

    Two cores run wrk, nginx, Gunicorn and PostgreSQL, so one run of a model varies by tens of
    per cent while drift moves every model of a repetition alike: pairs within a repetition
    cancel the drift, and the sign test asks whether a model wins more pairs than chance would.
    """
    base = [r["rps"] for r in model_runs[production]]
    out = []
    for model, runs in model_runs.items():
        if model == production:
            continue
        ratios = [r["rps"] / b if b else 0.0 for r, b in zip(runs, base, strict=True)]
        wins, losses = sum(x > 1 for x in ratios), sum(x < 1 for x in ratios)
        p_faster, p_slower = sign_test_p(wins, len(ratios)), sign_test_p(losses, len(ratios))
        out.append(
            {
                "model": f"{model[0]} {model[1]}x{model[2]}",
                "ratio_median": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
                "wins": wins,
                "pairs": len(ratios),
                "p_faster": p_faster,
                "faster": p_faster < SIGN_TEST_ALPHA,
                "slower": p_slower < SIGN_TEST_ALPHA,
            }
        )
    return out


def knob(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return type(default)(value) if value else default


class Client:
    """One keep-alive HTTPS connection to nginx (the identity check, the token, query counts)."""

    def __init__(self, stack: Stack):
        self.conn = http.client.HTTPSConnection(
            HOST, stack.https_port, context=stack.ssl_context(), timeout=30
        )

    def request(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Host": HOST, **({"Content-Type": "application/json"} if data else {})}
        self.conn.request(method, path, body=data, headers={**hdrs, **(headers or {})})
        response = self.conn.getresponse()
        return response.status, response.read()

    def get(self, path):
        status, raw = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"bench: GET {path} answered {status}: {raw[:300]!r}")
        return raw


def deep_cursor(stack: Stack, info: dict) -> str:
    """The cursor the API gives for the page after the post in the middle of the table."""
    with stack.superuser() as cur:
        cur.execute(
            "SELECT created_at, post_no FROM post WHERE post_no = %s",
            [info["first_pk"] + info["rows"] // 2],
        )
        created_at, pk = cur.fetchone()
    position = f"{created_at.astimezone(datetime.UTC).isoformat()}|{pk}"
    return base64.b64encode(urllib.parse.urlencode({"p": position}).encode()).decode()


def endpoints(info: dict, cursor: str) -> dict[str, str]:
    pk = info["detail_pk"]
    search = urllib.parse.quote(info["search"])
    return {
        "healthz": "/healthz",
        "list": "/api/v1/posts/",
        "list_baseline": "/bench/baseline/posts/",
        "list_100": "/api/v1/posts/?page_size=100",
        "deep": f"/api/v1/posts/?cursor={urllib.parse.quote(cursor)}",
        "search": f"/api/v1/posts/?search={search}",
        "tag": f"/api/v1/posts/?tag={info['tag']}",
        "detail": f"/api/v1/posts/{pk}/",
        "detail_baseline": f"/bench/baseline/posts/{pk}/",
        "comments": f"/api/v1/posts/{info['comments_pk']}/comments/",
        "comments_baseline": f"/bench/baseline/posts/{info['comments_pk']}/comments/",
    }


def check_identical(client: Client, paths: dict) -> dict:
    """The baselines answer the API's JSON, byte for byte; a bench of a different page is void."""
    checked = {}
    for name in ("list", "detail", "comments"):
        api, floor = client.get(paths[name]), client.get(paths[f"{name}_baseline"])
        if json.loads(api) != json.loads(floor):
            raise SystemExit(
                f"bench: the {name} baseline's JSON differs from the API's:\n"
                f"{api[:500]!r}\n{floor[:500]!r}"
            )
        checked[name] = {"json_identical": True, "bytes_identical": api == floor, "bytes": len(api)}
    deep = json.loads(client.get(paths["deep"]))
    if len(deep["results"]) == 0:
        raise SystemExit("bench: the deep cursor page is empty")
    return checked


def token(client: Client) -> str:
    username, password = f"bench-writer-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    status, raw = client.request(
        "POST", "/api/v1/auth/register/", {"username": username, "password": password}
    )
    if status != 201:
        raise RuntimeError(f"bench: register answered {status}: {raw[:300]!r}")
    status, raw = client.request(
        "POST", "/api/v1/auth/token/", {"username": username, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"bench: token answered {status}: {raw[:300]!r}")
    return json.loads(raw)["access"]


def median_runs(runs: list[dict]) -> dict:
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["errors"] = sum(r["errors"] for r in runs)
    out["runs"] = len(runs)
    return out


def interleaved(stack, paths: dict[str, dict], reps: int, duration: float, log) -> dict:
    """Every endpoint once per repetition, in turn (A, B, A, B...), then the medians."""
    runs = {name: [] for name in paths}
    for rep in range(reps):
        for name, spec in paths.items():
            r = wrk.run(stack.base_url + spec["path"], duration, **spec.get("wrk", {}))
            runs[name].append(r)
            log(
                f"  rep {rep + 1}/{reps} {name:<18} {r['rps']:8.1f} req/s p50 {r['p50_ms']:7.1f} ms"
            )
    return {name: median_runs(r) for name, r in runs.items()}


def warm(stack, paths, seconds):
    for spec in paths.values():
        wrk.run(stack.base_url + spec["path"], seconds, **spec.get("wrk", {}))


def pg_counts(stack: Stack) -> tuple[int, int]:
    """(statements the runtime role ran, sessions opened on the app database) so far."""
    with stack.superuser("postgres") as cur:
        cur.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s "
            "JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = %s",
            [RUNTIME],
        )
        calls = int(cur.fetchone()[0])
        cur.execute("SELECT pg_stat_force_next_flush()")
        cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = 'board'")
        sessions = int(cur.fetchone()[0])
    return calls, sessions


def per_request(stack, client, path, n) -> tuple[float, float]:
    before = pg_counts(stack)
    for _ in range(n):
        client.get(path)
    time.sleep(0.6)  # sessions are counted when they end, and stats are flushed every 0.5 s
    after = pg_counts(stack)
    return (after[0] - before[0]) / n, (after[1] - before[1]) / n


def queries_and_connections(stack, paths, n, warmup, log) -> tuple[dict, dict]:
    # Sessions stats: a closed session is counted; let every thread open its connection first.
    warm(stack, {"list": {"path": paths["list"]}}, warmup)
    client = Client(stack)
    names = ("list", "list_100", "detail", "comments", "search", "tag", "deep")
    for name in names:  # one untimed pass: connections and caches as in the measured pass
        per_request(stack, client, paths[name], 3)
    queries = {name: per_request(stack, client, paths[name], n)[0] for name in names}
    _, persistent = per_request(stack, client, paths["list"], n)
    log(f"  queries per request {queries}; new connections per request (persistent) {persistent}")
    stack.start_gunicorn(CONN_MAX_AGE=0, max_requests=0)
    client = Client(stack)
    q0, per_request_conns = per_request(stack, client, paths["list"], n)
    log(f"  CONN_MAX_AGE=0: new connections per request {per_request_conns}, queries {q0}")
    stack.start_gunicorn(max_requests=0)
    return (
        {"value": queries["list"], "per_endpoint": queries, "list_conn_max_age_0": q0},
        {
            "value": persistent,
            "persistent_conn_max_age_60": persistent,
            "conn_max_age_0": per_request_conns,
        },
    )


def _stop_on_signal(signum, frame):
    # SIGTERM/SIGHUP end the run through the Stack's __exit__: nothing is left running.
    raise SystemExit(f"bench: stopped by signal {signum}")


def serving(stack: Stack, info: dict, log) -> dict:
    """Figures 1-9: the serving figures, on the loaded data set."""
    reps = knob("BENCH_REPS", 5)
    duration = knob("BENCH_DURATION", 10.0)
    warmup = knob("BENCH_WARMUP", 5.0)
    tail_seconds = knob("BENCH_TAIL_SECONDS", 60.0)
    memory_requests = knob("BENCH_MEMORY_REQUESTS", 100_000)
    query_requests = knob("BENCH_QUERY_REQUESTS", 200)
    model_reps = knob("BENCH_MODEL_REPS", 9)
    model_duration = knob("BENCH_MODEL_DURATION", 15.0)
    results: dict = {}
    # Measured runs keep every worker: production recycles one after 20000 +- 2000 requests,
    # and a restart (seconds of imports on a busy CPU) would land in whichever run follows
    # a fast endpoint. The tail figure runs the production setting; figure 9 measures the
    # memory that recycling bounds.
    stack.start_gunicorn(max_requests=0)
    client = Client(stack)
    paths = endpoints(info, deep_cursor(stack, info))
    results["baseline_check"] = check_identical(client, paths)
    log(f"baselines answer the API's JSON: {results['baseline_check']}")
    access = token(client)

    # Figures 1-4: every read endpoint in one interleaved round per repetition.
    reads = {name: {"path": path} for name, path in paths.items()}
    log("warm-up")
    warm(stack, reads, warmup)
    log(f"reads: {len(reads)} endpoints x {reps} reps x {duration} s")
    ep = interleaved(stack, reads, reps, duration, log)

    # Figure 6 before the writes (the same data as the identity check).
    results["6_queries"], results["6_connections"] = queries_and_connections(
        stack, paths, query_requests, warmup, log
    )

    # Figure 5: POST create against the list, interleaved.
    body = json.dumps({"title": "bench write", "content": "A bench post.", "tags": ["bt1"]})
    auth = {"Authorization": f"Bearer {access}", "Content-Type": "application/json"}
    writes = {
        "create": {
            "path": "/api/v1/posts/",
            "wrk": {"method": "POST", "body": body, "headers": auth},
        },
        "list_w": {"path": paths["list"]},
    }
    warm(stack, writes, warmup)
    w = interleaved(stack, writes, reps, duration, log)
    ep["create"] = w["create"]

    # Figure 8 and the latency-against-load curve of the list.
    max_rps = ep["list"]["rps"]
    curve = []
    for fraction in LOAD_FRACTIONS:
        r = wrk.run(stack.base_url + paths["list"], duration, rate=max_rps * fraction)
        curve.append({"offered_rps": max_rps * fraction, **r})
        log(f"  list at {fraction:.0%} of max: {r['rps']:.1f} req/s, p99 {r['p99_ms']:.1f} ms")
    stack.start_gunicorn()  # production's worker recycling included
    warm(stack, {"list": {"path": paths["list"]}}, warmup)
    tail = wrk.run(stack.base_url + paths["list"], tail_seconds, rate=0.7 * max_rps)
    log(f"tail at 70%: {tail}")

    # Figure 7: worker models, interleaved like the endpoints. Each repetition restarts
    # Gunicorn once per model, in alternating order so no model always follows the same one,
    # warms it and measures the list.
    model_runs = {model: [] for model in worker_models(stack)}
    for rep, order in enumerate(interleaved_order(list(model_runs), model_reps)):
        for worker_class, workers, threads in order:
            stack.start_gunicorn(
                worker_class=worker_class, workers=workers, threads=threads, max_requests=0
            )
            warm(stack, {"list": {"path": paths["list"]}}, warmup)
            r = wrk.run(stack.base_url + paths["list"], model_duration)
            model_runs[(worker_class, workers, threads)].append(r)
            name = f"{worker_class} {workers}x{threads}"
            log(f"  rep {rep + 1}/{model_reps} {name:<12} {r['rps']:8.1f} req/s")
    models = [
        {"worker_class": c, "workers": w, "threads": t, **median_runs(runs)}
        for (c, w, t), runs in model_runs.items()
    ]

    # Figure 9: worker RSS after warm-up and after the requests (no recycling in between:
    # production's max_requests would replace the workers and hide any growth).
    stack.start_gunicorn(max_requests=0)
    mix = [paths[n] for n in ("list", "detail", "comments", "tag", "list_100", "deep")]
    wrk.run(stack.base_url + mix[0], max(warmup, 2), paths=mix)
    rss_warm = stack.worker_rss_kib()
    mem = {"requests": 0, "errors": 0, "rps": 1.0}
    while mem["requests"] < memory_requests:
        left = (memory_requests - mem["requests"]) / max(mem["rps"], 1.0)
        r = wrk.run(stack.base_url + mix[0], min(max(left, 1), 30), paths=mix)
        mem = {k: mem[k] + r[k] for k in ("requests", "errors")} | {"rps": r["rps"]}
    rss_after = stack.worker_rss_kib()
    log(f"memory: {mem['requests']} requests, RSS {rss_warm} -> {rss_after} KiB")

    results["serving_meta"] = {
        "reps": reps,
        "duration_s": duration,
        "model_reps": model_reps,
        "model_duration_s": model_duration,
        "wrk": f"{wrk.THREADS} threads, {wrk.CONNECTIONS} connections",
    }
    results["endpoints"] = ep

    def ratio(a, b, key="rps"):
        return ep[a][key] / ep[b][key] if ep[b][key] else 0.0

    for key, a, b, by in [
        ("1_list", "list", "list_baseline", "rps"),
        ("2_detail", "detail", "detail_baseline", "rps"),
        ("2_comments", "comments", "comments_baseline", "rps"),
        ("3_deep_page", "deep", "list", "p50_ms"),
        ("4_search", "search", "list", "p50_ms"),
        ("4_tag", "tag", "list", "p50_ms"),
    ]:
        results[key] = {"value": ratio(a, b, by), "by": by, "a": ep[a], "b": ep[b]}
    results["5_writes"] = {
        "value": w["create"]["rps"] / w["list_w"]["rps"] if w["list_w"]["rps"] else 0.0,
        "a": w["create"],
        "b": w["list_w"],
    }
    shape = ("gthread", stack.workers, stack.threads)
    production = next(m for m in models if (m["worker_class"], m["workers"], m["threads"]) == shape)
    best = max(models, key=lambda m: m["rps"])
    pairs = against_production(model_runs, shape)
    results["7_worker_models"] = {
        # The figure: how many models beat production beyond chance (the goal is none). The
        # ratio of medians is kept beside it; alone it crowns whichever model had the luckiest run.
        "value": sum(p["faster"] for p in pairs),
        "faster_than_production": [p["model"] for p in pairs if p["faster"]],
        "slower_than_production": [p["model"] for p in pairs if p["slower"]],
        "production_over_best_median": production["rps"] / best["rps"] if best["rps"] else 0.0,
        "best": f"{best['worker_class']} {best['workers']}x{best['threads']}",
        "production": f"gthread {stack.workers}x{stack.threads}",
        "models": models,
        "against_production": pairs,
    }
    results["8_tail"] = {
        "value": tail["p99_ms"] / tail["p50_ms"] if tail["p50_ms"] else 0.0,
        "offered_rps": 0.7 * max_rps,
        **tail,
    }
    results["latency_vs_load"] = curve
    results["9_memory"] = {
        "value": statistics.mean(rss_after) / statistics.mean(rss_warm)
        if rss_warm and rss_after
        else 0.0,
        "requests": mem["requests"],
        "rss_warm_kib": rss_warm,
        "rss_after_kib": rss_after,
        "errors": mem["errors"],
    }
    stack.stop_gunicorn()
    return results


def main() -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    rows = knob("BENCH_ROWS", 100_000)
    groups = figure_groups(os.environ.get("BENCH_FIGURES", ""))
    # bench/results.json is the last full run's: a run of some figures writes only to BENCH_OUT.
    out = os.environ.get("BENCH_OUT") or (Path(__file__).parent if groups == GROUPS else None)
    started = time.monotonic()

    def log(msg):
        print(f"[{time.monotonic() - started:7.1f}s] {msg}", flush=True)

    results: dict = {}
    with Stack(os.environ.get("BENCH_WORKDIR") or None, knob("BENCH_PG_MEMORY_MB", 4096)) as stack:
        results["stack"] = {
            "dir": str(stack.dir),
            "ports": stack.ports(),
            "gunicorn": f"{stack.workers} workers x {stack.threads} threads (gthread)",
            "cpus": stack.cpus,
        }
        log(f"stack up in {stack.dir}: {stack.base_url}, postgres :{stack.pg_port}")
        stack.manage("migrate", "--noinput")
        info = json.loads(stack.python("bench.load", str(rows)))
        log(f"loaded {info}")
        if "serving" in groups:
            results.update(serving(stack, info, log))
        if "recovery" in groups:
            results.update(recovery.figures(stack, rows, knob("BENCH_DEPLOY_REPS", 5), log))

    results["meta"] = {
        "rows": rows,
        "comments": info["comments"],
        "tag_links": info["tag_links"],
        "figures": list(groups),
        **results.pop("serving_meta", {}),
        "seconds_total": round(time.monotonic() - started),
        "note": os.environ.get("BENCH_NOTE", "ratios within one run are the figures"),
    }
    results["goals"] = GOALS
    print(report.table(results))
    if out is None:
        log("results.json not written: bench/ keeps the last full run's (set BENCH_OUT to keep it)")
        return 0
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if "endpoints" in results:
        report.chart(results, out / "results.png")
    log(f"wrote {out / 'results.json'}" + (" and results.png" if "endpoints" in results else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
