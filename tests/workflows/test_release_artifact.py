"""Build once, ship that: ci.yml's release job builds the commit's artifact and records its
sha256, and the deploy it calls ships that artifact, checked against that sha256 (deploy.yml hands
both to `make deploy`, whose role refuses a file whose hash differs:
tests/deploy/test_given_artifact.py).

Run by scripts/lint-workflows.sh (`make lint`)."""

from __future__ import annotations

import yaml
from support.paths import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _step(job: dict, name: str) -> dict:
    steps = [step for step in job["steps"] if step.get("name") == name]
    assert len(steps) == 1, f"no single step named {name!r}"
    return steps[0]


def test_the_release_job_builds_once_records_the_sha256_and_uploads_the_file():
    job = _load("ci.yml")["jobs"]["release"]
    build = _step(job, "Build the release artifact and record its sha256")
    assert "deploy/scripts/build_release.sh" in build["run"]
    assert "sha256=" in build["run"] and "artifact=" in build["run"]
    assert job["outputs"]["sha256"] == "${{ steps.build.outputs.sha256 }}"
    upload = _step(job, "Upload the release artifact")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["name"] == "${{ steps.build.outputs.artifact }}"
    # What ships is built from the hash-pinned lock, never from a dependency cache.
    assert not any("cache" in (step.get("with") or {}) for step in job["steps"])


def test_the_deploy_waits_for_the_release_job_and_gets_its_artifact_and_sha256():
    deploy = _load("ci.yml")["jobs"]["deploy"]
    assert "release" in deploy["needs"]
    assert deploy["with"]["artifact"] == "${{ needs.release.outputs.artifact }}"
    assert deploy["with"]["artifact-sha256"] == "${{ needs.release.outputs.sha256 }}"


def test_deploy_yml_ships_the_downloaded_artifact_with_its_sha256():
    workflow = _load("deploy.yml")
    on = workflow.get("on", workflow.get(True))
    assert {"artifact", "artifact-sha256"} <= set(on["workflow_call"]["inputs"])
    steps = workflow["jobs"]["deploy"]["steps"]
    names = [step.get("name") for step in steps]
    download = _step(workflow["jobs"]["deploy"], "Download the release artifact built by CI")
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["name"] == "${{ inputs.artifact }}"
    assert names.index(download["name"]) < names.index("make deploy")
    make_deploy = _step(workflow["jobs"]["deploy"], "make deploy")
    assert make_deploy["env"]["ARTIFACT_SHA256"] == "${{ inputs.artifact-sha256 }}"
    assert 'ARTIFACT_SHA256="$ARTIFACT_SHA256"' in make_deploy["run"]
    assert "make deploy" in make_deploy["run"]
