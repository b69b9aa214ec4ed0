"""A release artifact built beforehand (CI's release job: built once, tested, its sha256 recorded)
ships only when it is that very file: deploy.yml given release_artifact checks it on the
controller against release_artifact_sha256, the servers' Python and CPU and release_revision,
and refuses it with a message naming the variable, before anything reaches a server.

Runs the release role's deploy/given_artifact.yml on the controller (ansible-playbook, local
connection) over small artifacts made here; the servers' own check after the copy runs end to end
(tests/e2e/test_deploy.py)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

from support.paths import REPO

from .playbook import run_playbook

HEAD = subprocess.run(
    ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
).stdout.strip()

PLAYBOOK = """
- name: Check a given release artifact as deploy.yml does
  hosts: all
  gather_facts: false
  tasks:
    - name: Check it
      ansible.builtin.include_role:
        name: release
        tasks_from: deploy/given_artifact.yml
    - name: Say what ships
      ansible.builtin.debug:
        msg: "SHIPS {{ release_target_sha }} FROM {{ release_artifact_path }}"
"""


def _artifact(tmp_path: Path, revision: str = HEAD, platform: str = "cp311-x86_64") -> Path:
    """A tarball laid out and named as build_release.sh makes them (REVISION at its top)."""
    path = tmp_path / f"board-{revision}-{platform}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        data = f"{revision}\n".encode()
        info = tarfile.TarInfo("./REVISION")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(tmp_path: Path, artifact: Path, sha256: str, revision: str = ""):
    return run_playbook(
        PLAYBOOK,
        f"given-artifact-{tmp_path.name}",
        "localhost,",
        {
            "ansible_connection": "local",
            "ansible_facts": {"architecture": "x86_64"},
            # What deploy/build.yml reads from the servers before this check.
            "release_python_version": {"stdout": "3.11\n"},
            "release_build_repo": str(REPO),
            "release_artifact": str(artifact),
            "release_artifact_sha256": sha256,
            "release_revision": revision,
        },
    )


def _refusal(run) -> str:
    assert run.returncode != 0, run.stdout[-3000:]
    assert "SHIPS" not in run.stdout
    return run.stdout.split("TASK [")[-1]


def test_the_artifact_with_its_recorded_sha256_ships(tmp_path):
    artifact = _artifact(tmp_path)
    run = _check(tmp_path, artifact, _sha256(artifact).upper(), revision="HEAD")
    assert run.returncode == 0, run.stdout[-3000:]
    assert f"SHIPS {HEAD} FROM {artifact}" in run.stdout


def test_a_changed_artifact_is_refused_naming_the_variable(tmp_path):
    artifact = _artifact(tmp_path)
    recorded = _sha256(artifact)
    with artifact.open("ab") as f:  # one byte more: what a swapped or corrupted file looks like
        f.write(b"\0")
    failed = _refusal(_check(tmp_path, artifact, recorded))
    assert failed.startswith("release : Refuse a given artifact whose sha256 differs"), failed
    assert f"has sha256 {_sha256(artifact)}, not release_artifact_sha256 {recorded}" in failed
    assert "Nothing was shipped" in failed


def test_an_artifact_without_a_well_formed_sha256_is_refused(tmp_path):
    failed = _refusal(_check(tmp_path, _artifact(tmp_path), ""))
    assert "release_artifact_sha256 must be the sha256 (64 hex digits)" in failed, failed


def test_a_missing_artifact_is_refused(tmp_path):
    failed = _refusal(_check(tmp_path, tmp_path / "board-none.tar.gz", "0" * 64))
    assert "board-none.tar.gz does not exist on the controller" in failed, failed


def test_an_artifact_for_another_python_is_refused(tmp_path):
    artifact = _artifact(tmp_path, platform="cp313-x86_64")
    failed = _refusal(_check(tmp_path, artifact, _sha256(artifact)))
    assert "is not built for the servers' Python 3.11 on x86_64" in failed, failed
    assert "-cp311-x86_64.tar.gz" in failed


def test_an_artifact_of_another_revision_is_refused(tmp_path):
    artifact = _artifact(tmp_path, revision="a" * 40)
    failed = _refusal(_check(tmp_path, artifact, _sha256(artifact), revision=HEAD))
    assert f"holds revision '{'a' * 40}', not release_revision {HEAD}" in failed, failed
