"""The lab's servers download a Debian package through the machine's shared apt cache
(tests/e2e/testbed/apt_cache.py): the second server gets it from the cache, not the archive,
and no server reaches the cache but through its test bed's proxy. Needs only the bare lab."""

from __future__ import annotations

import shlex
import time

from e2e.testbed import apt_cache

# A small package no role installs: its file is fetched here only.
PACKAGE = "hello"


def _apt(lab) -> str:
    return f"apt-get -q -o Acquire::http::Proxy={shlex.quote(lab.proxy_url)}"


def _package_uri(lab) -> tuple[str, int]:
    """The package file's URL in the archive and its size (the db server's apt index)."""
    lab["db"].sh(f"{_apt(lab)} update", timeout=600)
    # 'http://.../pool/.../hello_..._amd64.deb' hello_..._amd64.deb SIZE SHA256:...
    line = lab["db"].sh(f"cd /tmp && {_apt(lab)} download --print-uris {PACKAGE}")
    uri, _, size, _ = line.split()
    return uri.strip("'"), int(size)


def _fetch(lab, role: str, uri: str) -> str:
    """Fetch ``uri`` on ``role`` through the lab's proxy; the sha256 of what arrived."""
    script = (
        "import hashlib, sys, urllib.request as u; "
        f"o = u.build_opener(u.ProxyHandler({{'http': {lab.proxy_url!r}}})); "
        f"print(hashlib.sha256(o.open({uri!r}, timeout=300).read()).hexdigest())"
    )
    return lab[role].sh(f"python3 -c {shlex.quote(script)}", timeout=600)


def test_a_second_server_gets_a_package_from_the_cache_not_the_archive(lab):
    uri, size = _package_uri(lab)
    logged = uri.split("://", 1)[1]
    started = int(time.time())
    first = _fetch(lab, "db", uri)  # from the archive, unless an earlier run cached it
    before_second = int(time.time()) + 1
    time.sleep(1.1)  # the transfer log counts whole seconds
    second = _fetch(lab, "app1", uri)
    assert first == second
    both = apt_cache.traffic(started, logged)
    again = apt_cache.traffic(before_second, logged)
    print(
        f"{PACKAGE}: {size} bytes; fetched from the archive {both.fetched} (first server), "
        f"{again.fetched} (second); served {both.served}"
    )
    assert again.fetched == 0, f"the second server's copy came from the archive: {again}"
    assert again.served >= size, f"the second server's copy did not pass the cache: {again}"


def test_no_server_reaches_the_cache_directly(lab):
    # apt-cacher-ng listens on the controller's loopback only; the servers reach the
    # controller's lab address, where only the lab's proxy listens.
    probe = (
        "import socket; s = socket.socket(); s.settimeout(5); "
        f"print(s.connect_ex(({lab.host_ip!r}, {apt_cache.PORT})))"
    )
    for role in ("db", "app1"):
        assert lab[role].sh(f"python3 -c {shlex.quote(probe)}") != "0"
