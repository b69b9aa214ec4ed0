"""The deploy credentials reach only jobs of the `production` environment.

DEPLOY_SSH_KEY, DEPLOY_KNOWN_HOSTS and ANSIBLE_VAULT_PASSWORD are secrets of the `production`
environment (limited to `main`, with required reviewers). A job reads environment secrets only when
it declares that environment, but a repository secret of the same name would be readable by any
job on any branch: so every job that is not a reusable-workflow call and names one of them must
declare `environment: production`. A caller passes them by name to the reusable workflow, and one
it forgets is an empty string there, so the job's first step must stop on an empty value.

Run by scripts/lint-workflows.sh (`make lint`).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from support.paths import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
DEPLOY_SECRETS = ("DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS", "ANSIBLE_VAULT_PASSWORD")
ENVIRONMENT = "production"

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# secrets.NAME or secrets['NAME'] inside an expression (names are case-insensitive on GitHub).
SECRET_REF = re.compile(
    r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])", re.I
)
# The whole context (toJSON(secrets), secrets[format(...)]): could be any secret.
WHOLE_SECRETS = re.compile(r"\bsecrets\b(?!\s*\.\s*[A-Za-z_]|\s*\[\s*['\"])", re.I)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as True.
    on = workflow.get("on", workflow.get(True)) or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def deploy_secrets_named(node, *, bare_expressions: bool = False) -> set[str]:
    """Deploy secrets named by the expressions in node (every one for the whole context)."""
    found: set[str] = set()
    for text in strings(node):
        expressions = EXPRESSION.findall(text) or ([text] if bare_expressions else [])
        for expression in expressions:
            if WHOLE_SECRETS.search(expression):
                found.update(DEPLOY_SECRETS)
            for dotted, bracketed in SECRET_REF.findall(expression):
                name = (dotted or bracketed).upper()
                if name in DEPLOY_SECRETS:
                    found.add(name)
    return found


def job_deploy_secrets(workflow: dict, job: dict) -> set[str]:
    """Deploy secrets a job's steps can see: its own, and those of the workflow-level env."""
    used = deploy_secrets_named(job)
    # `if:` conditions are expressions without ${{ }}.
    used |= deploy_secrets_named(job.get("if", ""), bare_expressions=True)
    for step in job.get("steps") or []:
        used |= deploy_secrets_named(step.get("if", ""), bare_expressions=True)
    used |= deploy_secrets_named(workflow.get("env") or {})
    return used


def declares_environment(job: dict, name: str = ENVIRONMENT) -> bool:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return environment == name


def violations(workflow: dict, label: str = "workflow") -> list[str]:
    """Jobs (not reusable-workflow calls) that use a deploy secret outside `production`."""
    found = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        if "uses" in job:
            continue  # a call: the called workflow's jobs are checked in their own file
        used = job_deploy_secrets(workflow, job)
        if used and not declares_environment(job):
            found.append(
                f"{label}: job {job_id!r} uses {', '.join(sorted(used))} without "
                f"`environment: {ENVIRONMENT}`"
            )
    return found


def local_call_target(uses: str) -> Path | None:
    """The file of a reusable workflow in this repository ($/... or ./...), else None."""
    for prefix in ("$/", "./"):
        if uses.startswith(prefix):
            return REPO / uses[len(prefix) :].split("@", 1)[0]
    return None


# --- The rule, on this repository's workflows -----------------------------------------------------


def test_workflows_exist():
    assert WORKFLOWS, "no workflow files under .github/workflows"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_deploy_secrets_only_in_production_jobs(path):
    assert violations(load(path), path.name) == []


def test_deploy_job_declares_production_and_uses_every_deploy_secret():
    deploy = load(REPO / ".github" / "workflows" / "deploy.yml")
    users = {
        job_id: job_deploy_secrets(deploy, job)
        for job_id, job in deploy["jobs"].items()
        if job_deploy_secrets(deploy, job)
    }
    assert users, "deploy.yml no longer uses the deploy secrets: update this test"
    for job_id in users:
        assert declares_environment(deploy["jobs"][job_id]), job_id


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_calls_pass_deploy_secrets_by_name_to_local_workflows(path):
    """A call that hands over deploy secrets names each one the called workflow declares."""
    for job_id, job in (load(path).get("jobs") or {}).items():
        if "uses" not in job:
            continue
        passed = job.get("secrets") or {}
        handed_over = passed == "inherit" or bool(deploy_secrets_named(passed))
        if not handed_over:
            continue
        target = local_call_target(job["uses"])
        assert target is not None, (
            f"{path.name}: job {job_id!r} hands deploy secrets to {job['uses']}"
        )
        assert target.is_file(), f"{path.name}: job {job_id!r} calls {job['uses']}: no such file"
        declared = (triggers(load(target)).get("workflow_call") or {}).get("secrets") or {}
        wanted = {name for name in declared if name.upper() in DEPLOY_SECRETS}
        assert wanted, f"{target.name} declares no deploy secret in on.workflow_call.secrets"
        if passed != "inherit":
            for name in wanted:
                assert name in passed, f"{path.name}: job {job_id!r} does not pass {name}"
                assert deploy_secrets_named(passed[name]) == {name.upper()}, (job_id, name)


# --- The first step stops on an empty secret ---------------------------------------------------


def first_step_checks():
    for path in WORKFLOWS:
        workflow = load(path)
        for job_id, job in (workflow.get("jobs") or {}).items():
            if "uses" not in job and job_deploy_secrets(workflow, job):
                yield pytest.param(job, id=f"{path.name}:{job_id}")


def run_step(step: dict, values: dict[str, str]) -> subprocess.CompletedProcess:
    """The step's script as the runner runs it (bash -eo pipefail), secrets set to values."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for key, value in (step.get("env") or {}).items():
        named = deploy_secrets_named(value)
        assert len(named) == 1, f"first step's env {key} is not one deploy secret: {value!r}"
        env[key] = values[named.pop()]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("job", list(first_step_checks()))
def test_first_step_fails_clearly_on_an_empty_deploy_secret(job):
    step = job["steps"][0]
    assert "run" in step, f"the first step is {step.get('uses')}, not the secrets check"
    assert "${{" not in step["run"], "secrets reach the script through env only"
    used = sorted(deploy_secrets_named(step.get("env") or {}))
    assert used == sorted(DEPLOY_SECRETS), f"the first step checks {used}"

    everything = dict.fromkeys(DEPLOY_SECRETS, "value")
    ok = run_step(step, everything)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    for missing in DEPLOY_SECRETS:
        failed = run_step(step, {**everything, missing: ""})
        assert failed.returncode != 0, f"an empty {missing} passed the first step"
        message = failed.stdout + failed.stderr
        assert "::error::" in message and missing in message, message
        assert f"'{ENVIRONMENT}' environment" in message, message
        others = [name for name in DEPLOY_SECRETS if name != missing]
        assert not any(name in message for name in others), message


# --- The checker itself, on workflows that break the rule ---------------------------------------

STEP = {"run": "deploy", "env": {"KEY": "${{ secrets.DEPLOY_SSH_KEY }}"}}


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        ({"jobs": {"j": {"runs-on": "x", "steps": [STEP]}}}, ["DEPLOY_SSH_KEY"]),
        (
            {"jobs": {"j": {"runs-on": "x", "environment": "staging", "steps": [STEP]}}},
            ["DEPLOY_SSH_KEY"],
        ),
        (
            {
                "jobs": {
                    "j": {
                        "runs-on": "x",
                        "environment": {"name": "${{ inputs.env }}"},
                        "steps": [
                            {"run": "x", "with": {"k": "${{ secrets['ansible_vault_password'] }}"}}
                        ],
                    }
                }
            },
            ["ANSIBLE_VAULT_PASSWORD"],
        ),
        (
            {"jobs": {"j": {"runs-on": "x", "steps": [{"run": "${{ toJSON(secrets) }}"}]}}},
            list(DEPLOY_SECRETS),
        ),
        (
            {
                "env": {"K": "${{ secrets.DEPLOY_KNOWN_HOSTS }}"},
                "jobs": {"j": {"runs-on": "x", "steps": [{"run": "true"}]}},
            },
            ["DEPLOY_KNOWN_HOSTS"],
        ),
    ],
    ids=[
        "no-environment",
        "other-environment",
        "expression-environment",
        "whole-context",
        "workflow-env",
    ],
)
def test_checker_reports_jobs_outside_production(workflow, expected):
    (found,) = violations(workflow)
    assert all(name in found for name in expected), found


@pytest.mark.parametrize(
    "workflow",
    [
        {"jobs": {"j": {"runs-on": "x", "environment": "production", "steps": [STEP]}}},
        {"jobs": {"j": {"runs-on": "x", "environment": {"name": "production"}, "steps": [STEP]}}},
        {"jobs": {"j": {"uses": "$/.github/workflows/deploy.yml", "secrets": "inherit"}}},
        {"jobs": {"j": {"runs-on": "x", "steps": [{"run": "echo secrets.DEPLOY_SSH_KEY"}]}}},
        {"jobs": {"j": {"runs-on": "x", "steps": [{"env": {"T": "${{ secrets.GITHUB_TOKEN }}"}}]}}},
    ],
    ids=["environment", "environment-mapping", "reusable-call", "plain-text", "other-secret"],
)
def test_checker_accepts(workflow):
    assert violations(workflow) == []
