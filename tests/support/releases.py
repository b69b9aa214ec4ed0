"""Releases to ship in the end-to-end suites: commits made for the tests, and the artifact built
beforehand as the release role builds it (so a deploy under load reuses it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .paths import DEPLOY, REPO
from .roles import role_default

GIT = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]


def commit(clone: Path, message: str, edit) -> str:
    """`edit(clone)`, then commit every tracked change; returns the new commit's sha."""
    edit(clone)
    subprocess.run([*GIT, "-C", str(clone), "commit", "--quiet", "-am", message], check=True)
    return subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def make_revisions(clone: Path) -> dict:
    """A clone of this repository (at `clone`) with three more commits: a visible change, a
    release that fails readiness, and one more ordinary release."""
    subprocess.run([*GIT, "clone", "--quiet", str(REPO), str(clone)], check=True)
    head = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    settings = clone / "app/config/settings.py"
    views = clone / "app/core/views.py"
    visible = commit(
        clone,
        "e2e: API version 1.0.1",
        lambda c: _replace(settings, '"VERSION": "1.0.0"', '"VERSION": "1.0.1-e2e"'),
    )
    broken = commit(
        clone,
        "e2e: a release that is never ready",
        lambda c: _replace(
            views,
            "    connection = connections[DEFAULT_DB_ALIAS]\n",
            '    return JsonResponse({"status": "unavailable", "reason": "e2e broken"}, '
            "status=503)\n"
            "    connection = connections[DEFAULT_DB_ALIAS]\n",
        ),
    )
    # The next ordinary release is built on the good one, not on the broken one.
    subprocess.run(
        [*GIT, "-C", str(clone), "checkout", "--quiet", "-b", "fixed", visible], check=True
    )
    another = commit(
        clone,
        "e2e: one more release",
        lambda c: _replace(settings, '"VERSION": "1.0.1-e2e"', '"VERSION": "1.0.2-e2e"'),
    )
    # A release whose migration needs an ACCESS EXCLUSIVE lock on the tag table (ALTER TABLE ADD
    # COLUMN), built on the good one too: the locked-migration drill (test_migration_lock.py).
    subprocess.run(
        [*GIT, "-C", str(clone), "checkout", "--quiet", "-b", "locking", visible], check=True
    )
    locking = commit(clone, "e2e: a migration that locks the tag table", _add_tag_note)
    subprocess.run([*GIT, "-C", str(clone), "checkout", "--quiet", "fixed"], check=True)
    return {
        "clone": clone,
        "head": head,
        "visible": visible,
        "broken": broken,
        "another": another,
        "locking": locking,
    }


LOCKING_TABLE = "board_tag"
LOCKING_MIGRATION = "e2e_tag_note"


def add_tag_note_field(clone: Path) -> None:
    """A nullable e2e_note field on the Tag model, without its migration (_add_tag_note writes
    one): alone, a model change whose migration was forgotten (`make migrations-check` fails)."""
    _replace(
        clone / "app/board/models.py",
        "    name = models.CharField(max_length=TAG_NAME_MAX_LENGTH, unique=True)\n",
        "    name = models.CharField(max_length=TAG_NAME_MAX_LENGTH, unique=True)\n"
        "    e2e_note = models.TextField(null=True, blank=True)\n",
    )


def _add_tag_note(clone: Path) -> None:
    """A nullable column on Tag: the model's field and its migration (ALTER TABLE board_tag ADD
    COLUMN e2e_note text NULL, which waits for every transaction that touched the table)."""
    add_tag_note_field(clone)
    migrations = clone / "app/board/migrations"
    last = max(m.stem for m in migrations.glob("0*.py"))
    (migrations / f"{LOCKING_MIGRATION}.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f'    dependencies = [("board", "{last}")]\n'
        "    operations = [\n"
        "        migrations.AddField(\n"
        '            model_name="tag", name="e2e_note",\n'
        "            field=models.TextField(null=True, blank=True),\n"
        "        ),\n"
        "    ]\n"
    )
    subprocess.run(["git", "-C", str(clone), "add", "app/board/migrations"], check=True)


def deploy_args(revisions, revision: str, *extra: str) -> list[str]:
    """What to ship, and nothing else: the public probe finds the self-signed server by itself."""
    return [
        "-e",
        f"release_build_repo={revisions['clone']}",
        "-e",
        f"release_revision={revision}",
        *extra,
    ]


def prebuild(provisioned, revisions, revision: str) -> tuple[Path, str]:
    """Build the artifact before the load starts, as CI would; the deploy then reuses it.
    Returns its path and its sha256 (what CI records; deploy.yml ships such a file with
    release_artifact and release_artifact_sha256).

    The same build as the release role's (its script, glibc and output directory); the Python
    version and the architecture are the server's, as the role reads them."""
    python = provisioned.sh("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")
    build = subprocess.run(
        [
            str(DEPLOY / "scripts/build_release.sh"),
            "--repo",
            str(revisions["clone"]),
            "--rev",
            revision,
            "--python",
            python,
            "--arch",
            provisioned.sh("uname -m"),
            "--glibc",
            role_default("release", "release_build_glibc"),
            "--out",
            str(DEPLOY / ".build"),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHON=sys.executable),
    )
    printed = dict(line.split("=", 1) for line in build.stdout.splitlines() if "=" in line)
    return Path(printed["ARTIFACT"]), printed["SHA256"]
