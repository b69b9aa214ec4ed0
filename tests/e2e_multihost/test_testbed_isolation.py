"""The lab's servers are separate machines to systemd too: each container's units live in a
cgroup of their own on the controller (tests/e2e/testbed/cgroups.py), so one server's systemd
stopping or restarting a unit never meets another server's processes of the same unit name.
Without it the single server's nginx kill -9 drill failed whenever another test bed ran nginx:
the dead master's workers stayed ("Failed to kill control group ... Input/output error"), kept
port 443, and every restart failed."""

from __future__ import annotations

from support.unit_faults import kill_and_wait_restart

from .cluster import APP_SERVERS

UNIT = "board-testbed-twin"
# A main process and a child it leaves behind, like a web server's master and its workers.
START = (
    f"systemd-run --unit={UNIT} -p Restart=always -p RestartSec=1 "
    "sh -c 'sleep 600 & exec sleep 601'"
)
COUNT = "pgrep -c -f '^sleep 60[01]$'"


def test_a_unit_killed_on_one_server_takes_its_children_and_not_the_other_server_s(cluster):
    first, other = APP_SERVERS
    for role in APP_SERVERS:
        cluster.sh(role, START)
    try:
        kill_and_wait_restart(cluster.server(first), UNIT)
        journal = cluster.sh(first, f"journalctl -q -u {UNIT} --no-pager -o cat")
        assert "Failed to kill control group" not in journal, journal
        # The restarted unit's two processes, and no child of the killed one left over.
        assert cluster.sh(first, COUNT) == "2", journal
        assert cluster.sh(other, f"systemctl show -p NRestarts --value {UNIT}") == "0"
        assert cluster.sh(other, COUNT) == "2"
    finally:
        for role in APP_SERVERS:
            cluster.sh(role, f"systemctl stop {UNIT}; systemctl reset-failed {UNIT} || true")
