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
# Wait for another apt (another suite, unattended upgrades) instead of failing at once.
apt=(apt-get -o DPkg::Lock::Timeout=600)
$SUDO "${apt[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $SUDO "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
