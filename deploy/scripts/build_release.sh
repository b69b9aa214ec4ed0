#!/usr/bin/env bash
# Build the release artifact of the board app on the controller (or a CI runner).
#
# The artifact is a tarball holding, at its top level:
#   app/                    the Django project, as committed at the revision (git archive)
#   requirements/base.lock  the hash-pinned runtime dependencies
#   wheels/                 every locked dependency as a wheel for the target's Python and CPU
#   REVISION                the full git sha
# The server installs it with `pip install --no-index --find-links wheels --require-hashes`, so
# servers never reach a package index. Artifacts are cached: the same revision, Python version and
# architecture is built once and then reused.
#
# Usage: build_release.sh [--rev REV] [--python X.Y] [--arch x86_64|aarch64] [--glibc 2.35]
#                         [--out DIR] [--repo DIR]
# Prints, on its last lines: REVISION=<sha>, ARTIFACT=<path>, SHA256=<its sha256>,
# STATUS=built|cached (deploy.yml ships such a file with -e release_artifact=<path>
# -e release_artifact_sha256=<sha256>).
# Environment: PYTHON (interpreter whose pip downloads the wheels; default: python3).
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rev="HEAD"
py_version=""
arch="$(uname -m)"
glibc="2.35"
repo=""
out=""
python="${PYTHON:-python3}"

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --rev) rev="$2"; shift 2 ;;
        --python) py_version="$2"; shift 2 ;;
        --arch) arch="$2"; shift 2 ;;
        --glibc) glibc="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --repo) repo="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "build_release.sh: unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done

repo="$(git -C "${repo:-$script_dir}" rev-parse --show-toplevel)"
out="${out:-$repo/deploy/.build}"
if [[ -z "$py_version" ]]; then
    py_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
fi
if [[ ! "$py_version" =~ ^3\.[0-9]+$ ]]; then
    echo "build_release.sh: --python wants X.Y, got '$py_version'" >&2
    exit 2
fi
if [[ ! "$glibc" =~ ^2\.([0-9]+)$ ]]; then
    echo "build_release.sh: --glibc wants 2.N, got '$glibc'" >&2
    exit 2
fi
glibc_minor="${BASH_REMATCH[1]}"
case "$arch" in
    x86_64|amd64) arch="x86_64" ;;
    aarch64|arm64) arch="aarch64" ;;
    *) echo "build_release.sh: unsupported architecture '$arch'" >&2; exit 2 ;;
esac

sha="$(git -C "$repo" rev-parse --verify --quiet "${rev}^{commit}")" || {
    echo "build_release.sh: '$rev' is not a commit in $repo" >&2
    exit 2
}
abi="cp${py_version/./}"
artifact="$out/board-${sha}-${abi}-${arch}.tar.gz"

mkdir -p "$out"
# One build at a time per cache directory (parallel deploys share the cache).
exec 9>"$out/.lock"
flock 9

report() {
    echo "REVISION=$sha"
    echo "ARTIFACT=$artifact"
    echo "SHA256=$(sha256sum "$artifact" | cut -d' ' -f1)"
    echo "STATUS=$1"
}

if [[ -s "$artifact" ]]; then
    report cached
    exit 0
fi

work="$(mktemp -d "$out/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
stage="$work/stage"
mkdir -p "$stage/wheels"

git -C "$repo" archive --format=tar "$sha" app requirements/base.lock | tar -x -C "$stage"
echo "$sha" > "$stage/REVISION"

# Wheels for the target: any manylinux tag up to the target's glibc, plus pure-Python wheels
# (pip accepts those for any platform). --only-binary: nothing is ever compiled on the server.
platforms=(--platform "manylinux2014_${arch}")
for ((minor = 17; minor <= glibc_minor; minor++)); do
    platforms+=(--platform "manylinux_2_${minor}_${arch}")
done
if [[ "$arch" == "x86_64" ]]; then
    platforms+=(--platform manylinux1_x86_64 --platform manylinux2010_x86_64)
fi
"$python" -m pip download \
    --disable-pip-version-check \
    --no-cache-dir \
    --quiet \
    --require-hashes \
    --only-binary=:all: \
    --implementation cp \
    --python-version "$py_version" \
    --abi "$abi" --abi abi3 --abi none \
    "${platforms[@]}" \
    --dest "$stage/wheels" \
    --requirement "$stage/requirements/base.lock" >&2

# Reproducible tarball: fixed order, owner and timestamps (the commit's).
commit_time="$(git -C "$repo" show -s --format=%ct "$sha")"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${commit_time}" \
    -C "$stage" -czf "$work/artifact.tar.gz" .
mv "$work/artifact.tar.gz" "$artifact"
report built
