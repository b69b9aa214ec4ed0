"""rollback.yml under HTTPS load while the controller's address is throttled: back to the
release before, with no failed request.

It runs after test_deploy.py (support/ordering.py), from the release that test left serving.
"""

from __future__ import annotations

import collections
import re
import threading

import pytest

from .releases import release_load, served_revision

pytestmark = pytest.mark.releases


def _throttle_the_controller(client) -> int:
    """Use up the anonymous rate of the controller's address on the API; the 429s seen."""
    throttled = 0
    for _ in range(150):
        throttled += client.request("/api/v1/posts/").status == 429
        if throttled >= 5:
            break
    return throttled


def test_rollback_while_throttled_goes_back_with_zero_failures(
    provisioned, revisions, cacert, client
):
    """No extra variables: the probe trusts the self-signed server by itself, and the API's 429
    for the controller's address (its anonymous rate kept used up for the whole rollback)
    counts as "the app is up"."""
    assert _throttle_the_controller(client) >= 5
    keeper_statuses: list[int] = []
    stop = threading.Event()

    def keep_throttled():  # takes every slot of the window that opens, so none is left
        while not stop.is_set():
            keeper_statuses.append(client.request("/api/v1/posts/").status)
            stop.wait(0.3)

    keeper = threading.Thread(target=keep_throttled, daemon=True)
    keeper.start()
    try:
        with release_load(provisioned, cacert) as load:
            run = provisioned.run_playbook("rollback", "rollback.yml")
    finally:
        stop.set()
        keeper.join(timeout=60)
    result = load.result
    probe_saw_429 = bool(
        re.search(r"429: throttled for this address, the\s+app answered", run.stdout)
    )
    print(
        "\n" + result.summary() + f"\nthe controller's API answers during the rollback: "
        f"{collections.Counter(keeper_statuses)}; the public probe saw a 429: {probe_saw_429}"
    )
    assert run.returncode == 0, f"rollback.yml failed, log: {run.log_path}\n{run.tail()}"
    assert set(keeper_statuses) <= {200, 429} and keeper_statuses.count(429) > 0
    assert result.errors == 0, result.error_samples
    assert served_revision(provisioned) == revisions["head"]
    assert result.revisions[-1] == revisions["head"]
    # /healthz is never throttled (the schema, an API view, would be for this address now).
    assert client.request("/healthz").header("x-app-revision") == revisions["head"]
