"""Faults done to a systemd unit on a test server, for the drills of both end-to-end suites: its
main process killed, its start made to fail. Each runs on the server in one shell call (the
server's own clock, no SSH latency) and prints what it saw there."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Runs on the server: kill -9 the unit's main process, poll until the unit is active under another
# main process and `check` succeeds (it serves); prints the seconds that took.
KILL_AND_WAIT_RESTART = r"""
unit="$1"; check="$2"
old="$(systemctl show -p MainPID --value "$unit")"
[ "$old" -gt 0 ] || { echo "no main process for $unit"; exit 2; }
start="$(date +%s.%N)"
kill -9 "$old"
while :; do
    now="$(date +%s.%N)"
    pid="$(systemctl show -p MainPID --value "$unit")"
    if [ "$pid" -gt 0 ] && [ "$pid" != "$old" ] && [ "$(systemctl is-active "$unit")" = active ] \
        && sh -c "$check" >/dev/null 2>&1; then
        echo "$now $start" | awk '{printf "%.2f\n", $1 - $2}'
        exit 0
    fi
    if [ "$(echo "$now $start" | awk '{print ($1 - $2 > 60)}')" = 1 ]; then
        echo "$unit not back after 60 s"; systemctl status --no-pager "$unit" | tail -5; exit 1
    fi
    sleep 0.1
done
"""

# Runs on the server: restart the unit onto a start that fails, poll until it is failed and no
# restart is pending; prints the seconds that took, how many restarts systemd made and the
# ActiveState of each further unit named.
RESTART_UNTIL_FAILED = r"""
unit="$1"; shift
start="$(date +%s.%N)"
systemctl restart "$unit" 2>/dev/null && { echo "$unit started despite its failing start"; exit 2; }
while :; do
    now="$(date +%s.%N)"
    if [ "$(systemctl show -p ActiveState --value "$unit")" = failed ] \
        && [ "$(systemctl show -p SubState --value "$unit")" = failed ]; then
        states=""
        for other in "$@"; do
            states="$states $(systemctl show -p ActiveState --value "$other")"
        done
        echo "$now $start $(systemctl show -p NRestarts --value "$unit")" \
            | awk '{printf "%.2f %d", $1 - $2, $3}'
        echo "$states"
        exit 0
    fi
    if [ "$(echo "$now $start" | awk '{print ($1 - $2 > 90)}')" = 1 ]; then
        echo "$unit still restarting after 90 s: $(systemctl show -p NRestarts --value "$unit")" \
            "restarts"
        exit 1
    fi
    sleep 0.2
done
"""


def kill_and_wait_restart(server, unit: str, check: str = "true") -> float:
    """kill -9 of `unit`'s main process; the seconds until systemd's Restart= has it active again
    under a new main process and the shell command `check` succeeds on the server."""
    out = server.sh(
        f"sh -c {shlex.quote(KILL_AND_WAIT_RESTART)} kill {shlex.quote(unit)} {shlex.quote(check)}",
        timeout=120,
    )
    return float(out.splitlines()[-1])


@dataclass
class FailedStart:
    """What a start that fails led to: `seconds` from the restart until the unit stayed failed
    (its start limit stopped the restarts), `restarts` systemd made, and the ActiveState of the
    units that go with it (e.g. its socket) then."""

    seconds: float
    restarts: int
    states: dict[str, str] = field(default_factory=dict)


@contextmanager
def failing_start(server, unit: str, companions: tuple[str, ...] = ()) -> Iterator[FailedStart]:
    """`unit` restarted onto a start that fails (a runtime drop-in whose ExecStartPre fails, gone
    at the next boot): yields the FailedStart once the start limit stopped the restarts. Afterwards
    the drop-in is gone, the failed starts of `unit` and its `companions` are forgotten and they
    are started again."""
    dropin_dir = f"/run/systemd/system/{unit}.d"
    dropin = shlex.quote(f"{dropin_dir}/fault-drill.conf")
    units = " ".join(shlex.quote(u) for u in (*companions, unit))
    server.sh(
        f"mkdir -p {shlex.quote(dropin_dir)} "
        f"&& printf '[Service]\\nExecStartPre=/bin/false\\n' > {dropin} && systemctl daemon-reload"
    )
    try:
        out = server.sh(
            f"sh -c {shlex.quote(RESTART_UNTIL_FAILED)} restart {shlex.quote(unit)} "
            + " ".join(shlex.quote(u) for u in companions),
            timeout=150,
        )
        seconds, restarts, *states = out.splitlines()[-1].split()
        yield FailedStart(float(seconds), int(restarts), dict(zip(companions, states, strict=True)))
    finally:
        server.sh(
            f"rm -f {dropin} && systemctl daemon-reload "
            f"&& systemctl reset-failed {units} && systemctl start {units}"
        )
