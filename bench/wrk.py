"""Run wrk and read its figures back as a dict (a Lua `done` hook prints them as JSON).

Pacing: Debian has no wrk2, so a constant rate is wrk's own `delay()` hook keeping a schedule per
thread (LuaJIT's ffi reads CLOCK_MONOTONIC): each request is sent at its slot, or at once when
the slot has passed (counted as `late`). Latency is measured from the send, as wrk does, not from
the slot (wrk2's correction): a run that cannot keep its rate shows it in `late` and in the
achieved rate, so the tail figure reports both.
"""

from __future__ import annotations

import json
import subprocess
import tempfile

from bench.stack import HOST

CONNECTIONS = 8
THREADS = 2

_CLOCK = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
"""

_PACE = """
interval = %(interval)f
nxt = nil
late = 0
function delay()
  local t = now_ms()
  if nxt == nil then nxt = t end
  local d = nxt - t
  nxt = nxt + interval
  if d < 0 then
    late = late + 1
    return 0
  end
  return d
end
"""

_DONE = """
threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local late = 0
  for _, t in ipairs(threads) do late = late + (tonumber(t:get("late")) or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,' ..
    '"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,' ..
    '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f,"mean_us":%.1f,"late":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, late))
end
"""


def _lua(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_PATHS = """
paths = {%(paths)s}
at = 0
function request()
  at = at %% #paths + 1
  return wrk.format(nil, paths[at])
end
"""


def script(method="GET", body=None, headers=None, rate=None, paths=None) -> str:
    lines = [_CLOCK, f"wrk.method = {_lua(method)}"]
    if paths:
        lines.append(_PATHS % {"paths": ", ".join(_lua(p) for p in paths)})
    if body is not None:
        lines.append(f"wrk.body = {_lua(body)}")
    for name, value in {"Host": HOST, **(headers or {})}.items():
        lines.append(f"wrk.headers[{_lua(name)}] = {_lua(value)}")
    if rate:
        lines.append(_PACE % {"interval": 1000.0 * THREADS / rate})
    else:
        lines.append("late = 0")
    lines.append(_DONE)
    return "\n".join(lines)


def run(
    url: str,
    duration: float,
    method="GET",
    body=None,
    headers=None,
    rate=None,
    paths=None,
    connections=CONNECTIONS,
) -> dict:
    """One wrk run: requests per second, latency percentiles (ms), errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="board-bench-") as lua:
        lua.write(script(method, body, headers, rate, paths))
        lua.flush()
        seconds = max(1, round(duration))
        proc = subprocess.run(
            ["wrk", "-t", str(THREADS), "-c", str(connections), "-d", f"{seconds}s"]
            + ["--timeout", "10s", "-s", lua.name, url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    raw = json.loads(line.split(" ", 1)[1])
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
        "requests": raw["requests"],
        "seconds": seconds_run,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "errors_status": raw["errors_status"],
        "late": raw["late"],
    }
