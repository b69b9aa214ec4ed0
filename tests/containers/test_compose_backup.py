"""The stack's `backup` service (docker/db/backup.sh) as the README tells a user to run it: a dump
into the `backups` volume, then a restore that brings the database back to that dump with the
privilege model intact (the runtime role still reads and writes, nothing more).
"""

from __future__ import annotations

import os
import secrets
import stat

from .podman import podman
from .stack import PROJECT

BACKUP = ("--profile", "backup", "run", "--rm", "backup")


def _sign_in(https) -> str:
    user = {"username": f"bkp{secrets.token_hex(4)}", "password": secrets.token_urlsafe(16)}
    r, body = https("POST", "/api/v1/auth/register/", user)
    assert r.status == 201, body
    r, body = https("POST", "/api/v1/auth/token/", user)
    assert r.status == 200, body
    return body["access"]


def _post(https, token, title):
    r, body = https(
        "POST", "/api/v1/posts/", {"title": title, "content": "kept?", "tags": []}, token
    )
    assert r.status == 201, body
    return body["id"]


def _visible(https, post_id) -> bool:
    r, _ = https("GET", f"/api/v1/posts/{post_id}/")
    assert r.status in (200, 404)
    return r.status == 200


def test_a_dump_restores_the_database_as_it_was(stack, https):
    token = _sign_in(https)
    before = _post(https, token, "written before the backup")

    dump = stack.compose(*BACKUP).stdout.strip().splitlines()[-1]
    assert dump.startswith("board-") and dump.endswith(".dump"), dump
    assert stack.compose(*BACKUP, "list").stdout.split() == [dump]
    volume = podman(
        "volume", "inspect", "--format", "{{.Mountpoint}}", f"{PROJECT}_backups"
    ).stdout.strip()
    assert stat.S_IMODE(os.stat(os.path.join(volume, dump)).st_mode) == 0o600

    after = _post(https, token, "written after the backup")

    # The README's restore: stop what writes, restore, start again.
    stack.compose("stop", "nginx", "app")
    restored = stack.compose(*BACKUP, "restore", dump)
    assert f"restored {dump}" in restored.stdout, restored.stderr
    stack.compose("start", "app")
    stack.wait_healthy("app")
    stack.compose("start", "nginx")
    stack.wait_healthy("nginx")

    assert _visible(https, before)
    assert not _visible(https, after)
    # The runtime role's grants came back with the tables: it still writes.
    _post(https, token, "written after the restore")


def test_a_restore_names_a_dump_in_the_volume(stack):
    r = stack.compose(*BACKUP, "restore", "../pgdata/PG_VERSION", check=False)
    assert r.returncode != 0
    assert "not a path" in r.stdout + r.stderr
    r = stack.compose(*BACKUP, "restore", "board-19700101T000000Z.dump", check=False)
    assert r.returncode != 0
    assert "no such dump" in r.stdout + r.stderr
