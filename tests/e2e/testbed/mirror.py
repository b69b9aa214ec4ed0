"""The Debian archive the test server installs from: the one this machine itself uses.

Read from the apt sources (deb822 ``*.sources`` first, then one-line ``*.list``) so the
mirror is never hardcoded; ``TESTBED_MIRROR`` overrides it. Every Debian release (releases.py)
is served from that one archive.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from pathlib import Path


def apt_mirror() -> str:
    """The Debian archive URL this machine itself uses (never hardcoded)."""
    override = os.environ.get("TESTBED_MIRROR")
    if override:
        return override
    candidates = [*_deb822_sources(), *_one_line_sources()]  # (uri, suites)
    for uri, suites in candidates:
        # the archive proper: it serves a release itself ("bookworm"), not only "-security"
        if any("-" not in suite for suite in suites.split()):
            return uri
    for uri, _ in candidates:
        if "security" not in uri:
            return uri
    raise RuntimeError("no Debian mirror found in the apt sources; set TESTBED_MIRROR")


def _deb822_sources() -> list[tuple[str, str]]:
    candidates = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("uris"):
                candidates.append((fields["uris"].split()[0], fields.get("suites", "")))
    return candidates


def _one_line_sources() -> list[tuple[str, str]]:
    candidates = []
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines():
                m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m:
                    candidates.append((m.group(1), m.group(2)))
    return candidates
