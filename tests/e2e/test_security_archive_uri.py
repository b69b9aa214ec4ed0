"""base_security_archive_uri, the remedy the run offers on a server without the security
archive, adds it: python3-debian (which deb822_repository needs) is installed first.

On the provisioned server: its security archive is taken out of apt's sources, the base role's
security-archive tasks run with the URI it came from, and apt sees the archive again. The
sources are put back afterwards.
"""

from __future__ import annotations

import re

import pytest

PLAYBOOK = """
- name: Check the security archive as the base role does
  hosts: board_servers
  tasks:
    - name: Load the settings of this release
      ansible.builtin.include_role:
        name: base
        tasks_from: distribution.yml
        public: true
    - name: Check the security archive, adding it from base_security_archive_uri
      ansible.builtin.include_role:
        name: base
        tasks_from: security_archive.yml
"""
SOURCES_DIR = "/etc/apt/sources.list.d"
ADDED = f"{SOURCES_DIR}/board-security.sources"


def _security_stanza(text: str) -> tuple[str, str] | None:
    """(stanza, its URI) of the deb822 stanza of the security suite in `text`, if any."""
    for stanza in re.split(r"\n\s*\n", text):
        if re.search(r"^Suites:.*-security", stanza, re.M):
            return stanza, re.search(r"^URIs:\s*(\S+)", stanza, re.M).group(1)
    return None


@pytest.mark.last
def test_security_archive_uri_adds_the_missing_archive(provisioned, tmp_path):
    sh = provisioned.sh
    policy_label = "n=bookworm-security,l=Debian-Security"
    # python3-debian is not on the server: the role must bring it.
    if (
        sh("dpkg-query -W -f '${Status}' python3-debian 2>/dev/null || true")
        == "install ok installed"
    ):
        sh("dpkg --remove python3-debian")
    originals = {
        path: sh(f"cat {path}") + "\n" for path in sh(f"ls {SOURCES_DIR}/*.sources").split()
    }
    found = [(p, *_security_stanza(t)) for p, t in originals.items() if _security_stanza(t)]
    assert found, originals
    path, stanza, uri = found[0]
    try:
        sh(f"cat > {path}", input=originals[path].replace(stanza, "").strip() + "\n")
        sh("apt-get update -qq")
        assert policy_label not in sh("apt-cache policy")

        playbook = tmp_path / "security-archive.yml"
        playbook.write_text(PLAYBOOK)
        run = provisioned.run_playbook(
            "security-archive-uri", str(playbook), ["-e", f"base_security_archive_uri={uri}"]
        )
        assert run.returncode == 0, f"see {run.log_path}\n{run.tail()}"
        assert policy_label in sh("apt-cache policy")
        assert f"URIs: {uri}" in sh(f"cat {ADDED}")
    finally:
        sh(f"rm -f {ADDED}")
        for original_path, text in originals.items():
            sh(f"cat > {original_path}", input=text)
        sh("apt-get update -qq")
    assert policy_label in sh("apt-cache policy")
