"""The bench's table (stdout, README) and chart (bench/results.png)."""

from __future__ import annotations

from pathlib import Path

ROWS = [
    # key, label, A, B, what the ratio compares
    ("1_list", "List page 1 vs baseline", "list", "list_baseline", "req/s"),
    ("2_detail", "Detail vs baseline", "detail", "detail_baseline", "req/s"),
    ("2_comments", "Comment list vs baseline", "comments", "comments_baseline", "req/s"),
    ("3_deep_page", "Cursor mid-table vs page 1", "deep", "list", "p50"),
    ("4_search", "Search vs page 1", "search", "list", "p50"),
    ("4_tag", "Tag filter vs page 1", "tag", "list", "p50"),
]
ENDPOINT_ORDER = [
    "healthz", "list", "list_baseline", "list_100", "deep", "search", "tag",
    "detail", "detail_baseline", "comments", "comments_baseline", "create",
]  # fmt: skip


def _fmt(r: dict) -> str:
    return f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms"


def table(results: dict) -> str:
    """The figures of the run (BENCH_FIGURES may have left some groups out)."""
    lines = ["| # | figure | A | B | ratio | goal |", "|---|---|---|---|---|---|"]
    if "endpoints" in results:
        lines += serving_rows(results)
    if "10_deploy" in results:
        lines += recovery_rows(results)
    meta = results["meta"]
    lines.append("")
    line = f"{meta['rows']} posts, {meta['comments']} comments, {meta['tag_links']} tag links"
    if "endpoints" in results:
        line += (
            f"; medians of {meta['reps']} interleaved runs of {meta['duration_s']:g} s "
            f"({meta['model_reps']} of {meta['model_duration_s']:g} s for the worker models); "
            f"wrk {meta['wrk']}; "
            f"{results['stack']['gunicorn']} on {results['stack']['cpus']} CPUs"
        )
    if "10_deploy" in results:
        line += f"; figure 10: medians of {results['10_deploy']['a']['runs']} interleaved runs"
    lines.append(f"{line}. {meta['note']}.")
    return "\n".join(lines)


def recovery_rows(results: dict) -> list[str]:
    goals = results["goals"]
    d = results["10_deploy"]
    a, b = d["a"], d["b"]

    def step(x):
        return (
            f"{x['seconds']:.2f} s at {x['posts']} posts (restore point "
            f"{x['restore_point_s'] * 1000:.1f} ms, migrate {x['migrate_s']:.2f} s); "
            f"pg_dump -Fc was {x['pg_dump_s']:.2f} s"
        )

    r = results["11_rto"]
    backup = r["backup"]
    return [
        f"| 10 | Deploy's database step (restore point + migration) vs at {b['posts']} posts | "
        f"{step(a)} | {step(b)} | {d['value']:.2f} (pg_dump: {d['pg_dump_ratio']:.2f}) | "
        f"{goals['10_deploy']} |",
        f"| 11 | RTO: pgbackrest restore of the latest point, start, count the posts (s) | "
        f"restore {r['restore_s']:.1f} s, start to count {r['start_s']:.1f} s, "
        f"{r['posts_restored']} posts | full backup {backup['seconds']:.1f} s, "
        f"{backup['database_bytes'] / 2**20:.0f} MiB into {backup['repository_bytes'] / 2**20:.0f} "
        f"MiB ({backup['compress_type']}, {backup['cipher']}) | {r['value']:.1f} s | "
        f"{goals['11_rto']} |",
    ]


def serving_rows(results: dict) -> list[str]:
    goals = results["goals"]
    lines = []
    for key, label, _, _, unit in ROWS:
        r = results[key]
        lines.append(
            f"| {key[0]} | {label} ({unit}) | {_fmt(r['a'])} | {_fmt(r['b'])} | "
            f"{r['value']:.2f} | {goals[key]} |"
        )
    w = results["5_writes"]
    lines.append(
        f"| 5 | POST create vs list (req/s) | {_fmt(w['a'])} | {_fmt(w['b'])} | "
        f"{w['value']:.2f} | {goals['5_writes']} |"
    )
    q = results["6_queries"]
    per = ", ".join(f"{k} {v:.1f}" for k, v in q["per_endpoint"].items())
    lines.append(f"| 6 | Queries per request | {per} | | {q['value']:.1f} | {goals['6_queries']} |")
    c = results["6_connections"]
    lines.append(
        f"| 6 | New DB connections per request | CONN_MAX_AGE=60: "
        f"{c['persistent_conn_max_age_60']:.2f} | CONN_MAX_AGE=0: {c['conn_max_age_0']:.2f} | "
        f"{c['value']:.2f} | {goals['6_connections']} |"
    )
    m = results["7_worker_models"]
    pairs = ", ".join(
        f"{x['model']} {x['ratio_median']:.2f} ({x['ratio_min']:.2f}-{x['ratio_max']:.2f}, "
        f"{x['wins']}/{x['pairs']} wins)"
        for x in m["against_production"]
    )
    faster = ", ".join(m["faster_than_production"]) or "none"
    lines.append(
        f"| 7 | Worker models: req/s over production's in the same repetition | {pairs} | "
        f"{m['production']}; best median: {m['best']} | {faster} faster | "
        f"{goals['7_worker_models']} |"
    )
    t = results["8_tail"]
    lines.append(
        f"| 8 | p99/p50 at 70% of max ({t['offered_rps']:.0f} req/s offered, "
        f"{t['seconds']:.0f} s) | "
        f"p99 {t['p99_ms']:.1f} ms | p50 {t['p50_ms']:.1f} ms, {t['errors']} errors, "
        f"{t['late']} late | {t['value']:.2f} | {goals['8_tail']} |"
    )
    mem = results["9_memory"]
    warm = sum(mem["rss_warm_kib"]) / max(1, len(mem["rss_warm_kib"])) / 1024
    after = sum(mem["rss_after_kib"]) / max(1, len(mem["rss_after_kib"])) / 1024
    lines.append(
        f"| 9 | Worker RSS after {mem['requests']} requests vs after warm-up | {after:.1f} MiB | "
        f"{warm:.1f} MiB | {mem['value']:.2f} | {goals['9_memory']} |"
    )
    return lines


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = results["endpoints"]
    names = [n for n in ENDPOINT_ORDER if n in ep]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 5))
    ax1.barh(names, [ep[n]["rps"] for n in names], color="tab:blue")
    ax1.set_xlabel("requests per second (median)")
    ax1.set_title("Throughput per endpoint")
    ax1.invert_yaxis()
    ax2.barh(names, [ep[n]["p99_ms"] for n in names], color="tab:red", label="p99")
    ax2.barh(names, [ep[n]["p50_ms"] for n in names], color="tab:orange", label="p50")
    ax2.set_xlabel("latency, ms (median of runs)")
    ax2.set_title("p50 and p99 per endpoint")
    ax2.invert_yaxis()
    ax2.legend()
    curve = results["latency_vs_load"]
    ax3.plot([c["rps"] for c in curve], [c["p50_ms"] for c in curve], "o-", label="p50")
    ax3.plot([c["rps"] for c in curve], [c["p99_ms"] for c in curve], "o-", label="p99")
    ax3.set_xlabel("achieved requests per second")
    ax3.set_ylabel("latency, ms")
    ax3.set_title("List page 1: latency against load")
    ax3.legend()
    meta = results["meta"]
    fig.suptitle(f"make bench: {meta['rows']} posts, {results['stack']['gunicorn']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
