"""sshd changes go to one server first: a change that passes `sshd -t` and the lockout guard
but still locks Ansible out (MaxSessions 0: logins succeed, no command may run) stops the run
on the first server; the other two keep the sshd they had and stay reachable. The first
server is then repaired from its console, as an operator would."""

from __future__ import annotations

import pytest

from .console import console

DROP_IN = "/etc/ssh/sshd_config.d/50-board-hardening.conf"
ROLES = ("db", "app1", "app2")


def _max_sessions(cluster, role: str) -> str:
    return console(cluster.server(role), f"grep '^MaxSessions ' {DROP_IN}")


@pytest.mark.last
def test_an_sshd_change_that_locks_ansible_out_stops_at_the_first_server(cluster):
    before = {role: _max_sessions(cluster, role) for role in ROLES}
    assert set(before.values()) == {"MaxSessions 2"}, before
    try:
        run = cluster.prov.run_playbook(
            "sshd-lockout", extra_args=["--tags", "base", "-e", "base_ssh_max_sessions=0"]
        )
        after = {role: _max_sessions(cluster, role) for role in ROLES}
        print(f"\nsshd drop-in after the run: {after}")
        assert run.returncode != 0, run.tail()
        assert "Check that Ansible still logs in with a new connection" in run.stdout
        changed = [role for role in ROLES if after[role] != before[role]]
        assert len(changed) == 1, after
        # The others were never touched and Ansible still gets in.
        for role in ROLES:
            if role not in changed:
                assert cluster.sh(role, "echo in") == "in"
    finally:
        for role in ROLES:
            if _max_sessions(cluster, role) != before[role]:
                console(
                    cluster.server(role),
                    f"sed -i 's/^MaxSessions .*/{before[role]}/' {DROP_IN} && systemctl reload ssh",
                )
    for role in ROLES:
        assert cluster.sh(role, "echo in") == "in"
