"""A second site.yml run over the three servers changes nothing. It runs after the disaster
recovery drill (test_disaster_recovery.py, also marked ``last``, comes first in file order), so it
also proves that the recovery's site.yml left the fleet converged, the new database server too."""

from __future__ import annotations

import pytest


@pytest.mark.last
def test_second_site_run_changes_nothing_on_any_server(cluster):
    run = cluster.prov.run_playbook("site-again")
    assert run.returncode == 0, f"log: {run.log_path}\n" + run.tail()
    assert set(run.recap) >= {"board-db", "board-app1", "board-app2"}, run.recap
    changed = {host: counts["changed"] for host, counts in run.recap.items()}
    assert changed == dict.fromkeys(run.recap, 0), "\n".join(run.changed_tasks())
