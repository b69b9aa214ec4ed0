"""The secrets after every release operation: none in the journal, the logs or the process
table, and the migrations' credentials out of the app's reach.

It runs last of the release modules (support/ordering.py), after site, deploys, rollback,
rotation and restore.
"""

from __future__ import annotations

import pytest

from .releases import APP_ROOT

pytestmark = pytest.mark.releases


def test_no_secret_in_the_journal_logs_or_process_table(provisioned):
    """After site, deploys, rollback, rotation and restore: no vault value (current or rotated
    away) in the journal, under /var/log, or in any process's command line."""
    values = sorted(set(provisioned.secrets.values()) | set(provisioned.retired_secrets))
    patterns = "\n".join(values)
    # The values travel to the server on stdin, never on a command line of their own.
    grep = provisioned.testbed.ssh(
        "f=$(mktemp) && cat > $f && "
        "{ journalctl --no-pager -o cat | grep -c -F -f $f; "
        "grep -r -l -F -f $f /var/log 2>/dev/null; "
        "ps -eo args | grep -v grep | grep -c -F -f $f; rm -f $f; }",
        input=patterns,
    )
    lines = grep.stdout.split()
    print(f"\nvault values searched: {len(values)}; journal hits, files, process hits: {lines}")
    assert lines[0] == "0", "a secret is in the journal"
    assert lines[-1] == "0", "a secret is in a process command line"
    assert lines[1:-1] == [], f"a secret is in {lines[1:-1]}"


def test_migrations_run_as_their_own_user_with_credentials_the_app_cannot_read(provisioned):
    for name in (".env", "migrate.env", "superuser.env"):
        assert provisioned.sh(f"stat -c '%a %U %G' {APP_ROOT}/shared/{name}") == "600 root root"
        denied = provisioned.testbed.ssh(f"runuser -u board -- cat {APP_ROOT}/shared/{name}")
        assert denied.returncode != 0
    # The owner role's password is only in migrate.env; the runtime settings do not have it.
    owner = provisioned.secrets["vault_postgresql_owner_password"]
    found = provisioned.testbed.ssh(
        f"grep -l -F -f - {APP_ROOT}/shared/.env {APP_ROOT}/shared/migrate.env", input=owner
    )
    assert found.stdout.split() == [f"{APP_ROOT}/shared/migrate.env"]
    # board-manage (what deploys run) gives migrations their own Unix user and the owner role.
    who = (
        "import getpass; from django.db import connection; "
        "print(getpass.getuser(), connection.settings_dict['USER'])"
    )
    assert provisioned.sh(f'board-manage --as migrate -- shell --no-imports -c "{who}"') == (
        "board-migrate board_owner"
    )
    assert (
        provisioned.sh(f'board-manage --as app -- shell --no-imports -c "{who}"')
        == "board board_app"
    )
    assert "board" not in provisioned.sh("id -Gn board-migrate").split()[1:]
