#!/usr/bin/env bash
# Install Debian/Ubuntu packages that a test suite needs, only those missing:
#   scripts/install-debian-packages.sh PACKAGE...
# The Makefile names them: redis-server for the app suite (a throwaway Redis on a unix socket);
# podman, runc (the runtime that works without systemd), netavark and aardvark-dns (container
# networks with name resolution) and iptables (netavark's port forwarding) for the containers.
# podman's settings come from tests/containers/containers.conf through CONTAINERS_CONF, so
# /etc/containers/containers.conf is never written. podman-compose comes from requirements/dev.lock.
set -euo pipefail

missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "install-debian-packages: installing ${missing[*]}"
SUDO=""
[[ $EUID -ne 0 ]] && SUDO="sudo"
# Two suites started side by side (make test-app) install at the same moment: one at a time, or
# the second's `apt-get update` fails on the lists lock (DPkg::Lock::Timeout waits for dpkg's
# lock only). The lock wait below is for another apt (unattended upgrades).
exec 9>/run/lock/board-install-debian-packages.lock
flock 9
missing_now=()
for pkg in "${missing[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing_now+=("$pkg")
done
((${#missing_now[@]} == 0)) && exit 0
missing=("${missing_now[@]}")
apt=(apt-get -o DPkg::Lock::Timeout=600)
$SUDO "${apt[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $SUDO "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
