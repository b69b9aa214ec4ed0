"""The database connection limits follow Gunicorn's size, and a size they cannot serve is refused.

Runs the app role's sizing check with ansible-playbook on the controller itself (no host is
changed), with the real role defaults and the real group_vars wiring of deploy/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .playbook import DEPLOY, run_playbook

PLAYBOOK = """
- name: Size the database connections for Gunicorn
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - roles/postgresql/defaults/main.yml
  tasks:
    - name: Check them with the app role's defaults
      ansible.builtin.include_role:
        name: app
        tasks_from: sizing.yml
        public: true
    - name: Write the limits down
      ansible.builtin.copy:
        content: "{{ {'workers': app_gunicorn_workers | int,
                      'threads': app_gunicorn_threads | int,
                      'needed': app_db_runtime_connections_needed | int,
                      'runtime_limit': postgresql_runtime_conn_limit | int,
                      'max_connections': postgresql_max_connections | int} | to_json }}"
        dest: "{{ sizing_out }}"
        mode: "0600"
"""


def _run(tmp_path: Path, **extra: object) -> subprocess.CompletedProcess:
    return run_playbook(
        PLAYBOOK,
        f"sizing-test-{tmp_path.name}",
        extra={"app_name": "board", "sizing_out": str(tmp_path / "out"), **extra},
    )


def _limits(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "out").read_text())


@pytest.mark.parametrize(
    ("vcpus", "workers", "threads"), [(1, 3, 2), (2, 5, 2), (4, 9, 4), (8, 17, 8)]
)
def test_gunicorn_size_follows_the_vcpus_here_and_in_the_bench(tmp_path, vcpus, workers, threads):
    # 2 x vCPU + 1 workers x max(2, vCPU) threads, and the limits follow; the bench's stack sizes
    # itself from the same defaults, so figure 7 always measures the shape servers get.
    run = _run(tmp_path, ansible_facts={"processor_vcpus": vcpus})
    assert run.returncode == 0, run.stdout[-2000:]
    limits = _limits(tmp_path)
    assert (limits["workers"], limits["threads"]) == (workers, threads)
    assert limits["needed"] == 2 * workers * threads + 10
    assert _bench_size(vcpus) == [workers, threads]


def _bench_size(vcpus: int) -> list[int]:
    # In a subprocess from the repository root: here `bench` is the tests/bench package.
    code = "import json; from bench.stack import role_gunicorn_size as size; "
    code += f"print(json.dumps(size({vcpus})))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=DEPLOY.parent, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("workers", "threads", "needed"),
    [(5, 2, 2 * 5 * 2 + 10), (17, 8, 2 * 17 * 8 + 10)],
)
def test_limits_grow_with_gunicorn(tmp_path, workers, threads, needed):
    run = _run(tmp_path, app_gunicorn_workers=workers, app_gunicorn_threads=threads)
    assert run.returncode == 0, run.stdout[-2000:]
    limits = _limits(tmp_path)
    print(f"\n{workers} workers x {threads} threads: {limits}")
    assert limits["needed"] == needed
    assert limits["runtime_limit"] == needed
    # Room for the runtime role, the owner role (5) and the reserved connections (10).
    assert limits["max_connections"] == max(100, needed + 5 + 10)


def test_a_runtime_limit_below_gunicorns_size_is_refused_naming_the_numbers(tmp_path):
    run = _run(
        tmp_path, app_gunicorn_workers=17, app_gunicorn_threads=8, postgresql_runtime_conn_limit=40
    )
    assert run.returncode != 0
    assert "17 workers x 8 threads" in run.stdout
    assert "272 database connections" in run.stdout and "= 282" in run.stdout
    assert "runtime role allows 40" in run.stdout


def test_max_connections_that_leave_no_room_for_the_owner_are_refused(tmp_path):
    run = _run(
        tmp_path, postgresql_max_connections=20, app_gunicorn_workers=2, app_gunicorn_threads=2
    )
    assert run.returncode != 0
    assert "the server 20 in all" in run.stdout
