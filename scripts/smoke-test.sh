#!/usr/bin/env bash
# Smoke-test a running board deployment over HTTP(S).
#
#   scripts/smoke-test.sh URL          e.g. scripts/smoke-test.sh https://board.example.com
#
# Checks, each retried until it passes or the attempts run out:
#   GET URL/healthz        -> 200, JSON {"status": "ok"}  (prints X-App-Revision when present)
#   GET URL/readyz         -> 200 (database reachable, no unapplied migration)
#   GET URL/api/v1/posts/  -> 200, a JSON document; or 429: this address is over its rate, but
#                             the app answered (the two probes above are never throttled)
#
# Environment:
#   SMOKE_RESOLVE          curl --resolve override "host:port:address" (comma-separated for
#                          several), e.g. "board.test:443:10.231.7.2" for a test host.
#   SMOKE_CACERT           CA bundle to verify the server certificate (e.g. a self-signed test CA).
#   SMOKE_EXPECT_REVISION  if set, X-App-Revision from /healthz must equal it (or start with it).
#   SMOKE_ATTEMPTS         attempts per check (default 10).
#   SMOKE_DELAY            seconds between attempts (default 3).
#   SMOKE_TIMEOUT          seconds per request (default 10).
#
# Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
set -euo pipefail

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

case "${1:-}" in
    -h | --help) usage 0 ;;
    "") echo "smoke-test: missing URL" >&2; usage 2 >&2 ;;
esac
[[ $# -eq 1 ]] || { echo "smoke-test: expected exactly one URL" >&2; usage 2 >&2; }

base_url="${1%/}"
if [[ ! "$base_url" =~ ^https?://[^[:space:]/]+(/[^[:space:]]*)?$ ]]; then
    echo "smoke-test: not an http(s) URL: '$1'" >&2
    exit 2
fi

attempts="${SMOKE_ATTEMPTS:-10}"
delay="${SMOKE_DELAY:-3}"
timeout="${SMOKE_TIMEOUT:-10}"
for n in "$attempts" "$delay" "$timeout"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "smoke-test: SMOKE_ATTEMPTS/DELAY/TIMEOUT must be integers" >&2; exit 2; }
done
((attempts >= 1)) || attempts=1

command -v curl >/dev/null || { echo "smoke-test: curl is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "smoke-test: python3 is required (JSON checks)" >&2; exit 2; }

curl_opts=(--silent --show-error --max-time "$timeout" --connect-timeout "$timeout"
           --proto '=http,https' --header 'Accept: application/json')
if [[ -n "${SMOKE_RESOLVE:-}" ]]; then
    IFS=',' read -r -a resolves <<<"$SMOKE_RESOLVE"
    for r in "${resolves[@]}"; do
        if [[ -n "$r" ]]; then curl_opts+=(--resolve "$r"); fi
    done
fi
if [[ -n "${SMOKE_CACERT:-}" ]]; then
    [[ -r "$SMOKE_CACERT" ]] || { echo "smoke-test: SMOKE_CACERT not readable: $SMOKE_CACERT" >&2; exit 2; }
    curl_opts+=(--cacert "$SMOKE_CACERT")
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/smoke-test.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT
body="$workdir/body"
headers="$workdir/headers"

# json_check MODE FILE: "status-ok" wants {"status": "ok"}; "json" wants any JSON document.
json_check() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
try:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
except (OSError, ValueError) as exc:
    print(f"response is not JSON ({exc})")
    sys.exit(1)
if mode == "status-ok" and not (isinstance(doc, dict) and doc.get("status") == "ok"):
    print(f'expected {{"status": "ok"}}, got {json.dumps(doc)[:200]}')
    sys.exit(1)
EOF
}

# probe NAME PATH JSON_MODE [THROTTLED_OK]: GET base_url+PATH until it returns 200 (and valid
# JSON per mode), or 429 when THROTTLED_OK is "429".
probe() {
    local name="$1" path="$2" mode="$3" throttled_ok="${4:-}" url="$base_url$2" code reason i
    for ((i = 1; i <= attempts; i++)); do
        reason=""
        : >"$body"; : >"$headers"
        if code="$(curl "${curl_opts[@]}" --output "$body" --dump-header "$headers" \
                --write-out '%{http_code}' "$url" 2>"$workdir/err")"; then
            if [[ "$code" == 429 && "$throttled_ok" == 429 ]]; then
                echo "smoke-test: ok   $name ($path -> 429: throttled for this address, the app answered)"
                return 0
            elif [[ "$code" != 200 ]]; then
                reason="HTTP $code: $(head -c 200 "$body" | tr -d '\r\n')"
            elif [[ "$mode" != none ]] && ! reason="$(json_check "$mode" "$body")"; then
                :
            else
                echo "smoke-test: ok   $name ($path -> 200)"
                return 0
            fi
        else
            # curl's first error line names the problem (its later lines are advice).
            reason="$(tr -d '\r' <"$workdir/err" | head -n1)"
        fi
        echo "smoke-test: wait $name attempt $i/$attempts: $reason" >&2
        if ((i < attempts)); then sleep "$delay"; fi
    done
    echo "smoke-test: FAIL $name: GET $url did not pass after $attempts attempts (last: $reason)" >&2
    return 1
}

echo "smoke-test: checking $base_url"
failed=0

if probe healthz /healthz status-ok; then
    revision="$(tr -d '\r' <"$headers" | awk -F': *' 'tolower($1) == "x-app-revision" {print $2}' | tail -n1)"
    echo "smoke-test: X-App-Revision: ${revision:-<not sent>}"
    if [[ -n "${SMOKE_EXPECT_REVISION:-}" ]]; then
        # Either may be abbreviated: one must be a prefix of the other.
        if [[ -n "$revision" && ( "$revision" == "$SMOKE_EXPECT_REVISION"* || "$SMOKE_EXPECT_REVISION" == "$revision"* ) ]]; then
            echo "smoke-test: ok   revision matches $SMOKE_EXPECT_REVISION"
        else
            echo "smoke-test: FAIL revision: expected $SMOKE_EXPECT_REVISION, server reports ${revision:-nothing}" >&2
            failed=1
        fi
    fi
else
    failed=1
fi
probe readyz /readyz none || failed=1
probe posts /api/v1/posts/ json 429 || failed=1

if ((failed)); then
    echo "smoke-test: FAILED for $base_url" >&2
    exit 1
fi
echo "smoke-test: all checks passed for $base_url"
