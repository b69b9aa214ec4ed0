"""Faults done to a systemd unit on a test server, for the drills: its main process killed, its
start made to fail. Each runs on the server in one shell call and prints what it saw there."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager

# Runs on the server: kill -9 the unit's main process, poll until the unit is active under another
# main process; prints the seconds that took.
KILL_AND_WAIT_RESTART = r"""
unit="$1"
pid="$(systemctl show -p MainPID --value "$unit")"
[ "$pid" -gt 0 ] || { echo "$unit has no main process"; exit 2; }
start="$(date +%s.%N)"
kill -9 "$pid"
while :; do
    now="$(date +%s.%N)"
    new="$(systemctl show -p MainPID --value "$unit")"
    if [ "$(systemctl show -p ActiveState --value "$unit")" = active ] \
        && [ "$new" -gt 0 ] && [ "$new" != "$pid" ]; then
        echo "$now $start" | awk '{printf "%.2f\n", $1 - $2}'
        exit 0
    fi
    if [ "$(echo "$now $start" | awk '{print ($1 - $2 > 60)}')" = 1 ]; then
        echo "$unit not active again 60 s after kill -9 of $pid"
        exit 1
    fi
    sleep 0.2
done
"""

# Runs on the server: restart the unit onto a start that fails, poll until it is failed and no
# restart is pending; prints the seconds that took and how many restarts systemd made.
RESTART_UNTIL_FAILED = r"""
unit="$1"
start="$(date +%s.%N)"
systemctl restart "$unit" 2>/dev/null && { echo "$unit started despite its failing start"; exit 2; }
while :; do
    now="$(date +%s.%N)"
    if [ "$(systemctl show -p ActiveState --value "$unit")" = failed ] \
        && [ "$(systemctl show -p SubState --value "$unit")" = failed ]; then
        echo "$now $start $(systemctl show -p NRestarts --value "$unit")" \
            | awk '{printf "%.2f %d\n", $1 - $2, $3}'
        exit 0
    fi
    if [ "$(echo "$now $start" | awk '{print ($1 - $2 > 90)}')" = 1 ]; then
        echo "$unit still restarting after 90 s: $(systemctl show -p NRestarts --value "$unit")"
        exit 1
    fi
    sleep 0.2
done
"""


def kill_and_wait_restart(server, unit: str) -> float:
    """kill -9 of `unit`'s main process; the seconds until it is active again (under systemd's
    Restart=)."""
    out = server.sh(f"sh -c {shlex.quote(KILL_AND_WAIT_RESTART)} kill {shlex.quote(unit)}")
    return float(out.splitlines()[-1])


@contextmanager
def failing_start(server, unit: str) -> Iterator[tuple[float, int]]:
    """`unit` restarted onto a start that fails (a runtime drop-in whose ExecStartPre fails, gone
    at the next boot): yields (seconds until it stayed failed, restarts systemd made) once its
    start limit stopped the restarts. Afterwards the drop-in is gone, the failed starts are
    forgotten and the unit is started again."""
    dropin = f"/run/systemd/system/{unit}.d/fault-drill.conf"
    server.sh(
        f"mkdir -p /run/systemd/system/{shlex.quote(unit)}.d "
        f"&& printf '[Service]\\nExecStartPre=/bin/false\\n' > {shlex.quote(dropin)} "
        "&& systemctl daemon-reload"
    )
    try:
        out = server.sh(
            f"sh -c {shlex.quote(RESTART_UNTIL_FAILED)} restart {shlex.quote(unit)}", timeout=150
        )
        seconds, restarts = out.splitlines()[-1].split()
        yield float(seconds), int(restarts)
    finally:
        server.sh(
            f"rm -f {shlex.quote(dropin)} && systemctl daemon-reload "
            f"&& systemctl reset-failed {shlex.quote(unit)} && systemctl start {shlex.quote(unit)}"
        )
