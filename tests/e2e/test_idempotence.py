"""A second run of site.yml against the provisioned server changes nothing."""

from __future__ import annotations

import pytest


@pytest.mark.last
def test_second_run_reports_no_changes(provisioned):
    run = provisioned.run_playbook("idempotence")
    assert run.returncode == 0, f"second run failed; log: {run.log_path}\n{run.tail()}"
    recap = run.recap.get(provisioned.host)
    assert recap is not None, f"no PLAY RECAP line for {provisioned.host}; log: {run.log_path}"
    assert recap["failed"] == 0 and recap["unreachable"] == 0, recap
    changed = "\n".join(run.changed_tasks())
    assert recap["changed"] == 0, f"changed={recap['changed']} on the second run:\n{changed}"
