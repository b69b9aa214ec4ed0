"""board-job-result, the writer of job results for the node exporter (base role), run here on
the controller: rendered by Ansible from the role's template, pointed at a temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from .playbook import DEPLOY, run_playbook

RENDER = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.template:
        src: roles/base/templates/board-job-result.sh.j2
        dest: "{{ script }}"
        mode: "0755"
"""


@pytest.fixture
def job_result(tmp_path):
    script, directory = tmp_path / "board-job-result", tmp_path / "textfile"
    directory.mkdir()
    run = run_playbook(
        RENDER,
        "render-job-result",
        extra={"script": str(script), "base_textfile_dir": str(directory)},
    )
    assert run.returncode == 0, run.stdout + run.stderr

    def call(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(script), *args], env={**os.environ, **env}, capture_output=True, text=True
        )

    return call, directory


def samples(path: Path) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    }


def test_a_failure_keeps_the_last_success_time(job_result):
    call, directory = job_result
    assert call("backup", SERVICE_RESULT="success").returncode == 0
    ok = samples(directory / "board_backup_success.prom")
    assert samples(directory / "board_backup_run.prom")["board_backup_last_outcome"] == 1

    # systemd's ExecStopPost= after a dump that failed (or was killed: SERVICE_RESULT=signal).
    assert call("backup", SERVICE_RESULT="exit-code").returncode == 0
    run = samples(directory / "board_backup_run.prom")
    assert run["board_backup_last_outcome"] == 0
    assert (
        run["board_backup_last_run_timestamp_seconds"]
        >= ok["board_backup_last_success_timestamp_seconds"]
    )
    assert samples(directory / "board_backup_success.prom") == ok
    # Only finished files: no temporary file is left, every file is readable by the exporter.
    assert sorted(p.name for p in directory.iterdir()) == [
        "board_backup_run.prom",
        "board_backup_success.prom",
    ]
    assert {oct(p.stat().st_mode & 0o777) for p in directory.iterdir()} == {"0o644"}


def test_labels_and_the_run_metric_name_for_certificates(job_result):
    call, directory = job_result
    result = call(
        "certificate_renewal", "success", 'certificate="board.example.com"',
        BOARD_RUN_METRIC="last_timestamp_seconds",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run,) = directory.glob("*_run.prom")
    metrics = samples(run)
    assert metrics['board_certificate_renewal_last_outcome{certificate="board.example.com"}'] == 1
    assert (
        'board_certificate_renewal_last_timestamp_seconds{certificate="board.example.com"}'
        in metrics
    )


def test_a_bad_job_name_is_refused(job_result):
    call, directory = job_result
    result = call("../etc/passwd", "success")
    assert result.returncode == 2 and "JOB must be" in result.stderr
    assert not list(directory.iterdir())


def test_the_backup_unit_records_its_result_even_when_the_backup_fails():
    unit = (DEPLOY / "roles" / "backup" / "templates" / "board-backup@.service.j2").read_text()
    # ExecStopPost= runs after a failed or killed ExecStart=; "+" lifts the sandbox for it only.
    assert re.search(r"^ExecStopPost=\+/usr/local/sbin/board-job-result backup$", unit, re.M)
