#!/usr/bin/env bash
# Unpack programs from Debian packages into a cache folder without installing or starting
# anything (apt-get download + dpkg -x), and print the folder:
#   scripts/debian-tools.sh PACKAGE...   ->  <cache>/<package>/usr/bin/...
# Used for promtool (prometheus) and amtool (prometheus-alertmanager): the same versions the
# servers run. The cache is .venv/debian-tools (make clean removes it); a package is fetched
# again when the archive's version changes.
set -euo pipefail
cache="${DEBIAN_TOOLS_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/.venv/debian-tools}"
mkdir -p "$cache"
for pkg in "$@"; do
    version="$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')"
    if [[ -z "$version" || "$version" == "(none)" ]]; then
        echo "debian-tools: no candidate for $pkg (apt-get update?)" >&2
        exit 1
    fi
    if [[ "$(cat "$cache/$pkg/.version" 2>/dev/null)" != "$version" ]]; then
        work="$(mktemp -d)"
        (cd "$work" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) || {
            echo "debian-tools: apt-get download $pkg=$version failed" >&2
            rm -rf "$work"
            exit 1
        }
        rm -rf "${cache:?}/$pkg"
        dpkg -x "$work"/*.deb "$cache/$pkg"
        echo "$version" > "$cache/$pkg/.version"
        rm -rf "$work"
    fi
done
echo "$cache"
