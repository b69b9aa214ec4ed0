#!/usr/bin/env bash
# Install what the container tests need on a Debian/Ubuntu machine, only when missing:
# podman, runc (the runtime that works without systemd), netavark and aardvark-dns
# (container networks with name resolution), iptables (netavark's port forwarding).
# podman's settings come from tests/containers/containers.conf through CONTAINERS_CONF, so
# /etc/containers/containers.conf is never written. podman-compose comes from requirements/dev.lock.
set -euo pipefail

packages=(podman runc netavark aardvark-dns iptables)
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "install-container-tools: installing ${missing[*]}"
SUDO=""
[[ $EUID -ne 0 ]] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
