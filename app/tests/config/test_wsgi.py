"""The WSGI module a Gunicorn worker imports: the URLconf loaded, the imports hidden from the GC."""

import json
import subprocess
import sys

from tests.config.test_settings import APP_DIR, PRODUCTION_ENV

PROBE = """
import gc, json, sys
import config.wsgi
print(json.dumps({
    "views_imported": all(m in sys.modules for m in ("board.views", "accounts.views")),
    "frozen": gc.get_freeze_count(),
    "collectable": len(gc.get_objects()),
}))
"""


def test_a_worker_imports_the_views_and_freezes_them_out_of_the_collectors_reach():
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "/dev/null"}
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-W", "ignore", "-c", PROBE],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout)
    # The first request does not pay for importing the views...
    assert state["views_imported"], state
    # ...and a full collection walks only what requests allocate, not Django's tens of
    # thousands of import-time objects (each of which it would otherwise visit).
    assert state["frozen"] > 20_000, state
    assert state["collectable"] < state["frozen"] / 100, state
