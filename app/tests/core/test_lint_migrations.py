"""The migration safety gate (manage.py lint_migrations): a migration that would lock a table or
break the release still serving is refused with how to do it in two steps; the expand/contract
way passes; the escape hatch works only with a reason.

Each test lints board's migrations plus new ones written to a copy of its migrations package
(MIGRATION_MODULES); the command migrates a scratch database of its own, so the test database
is not changed. squawk needs PostgreSQL's SQL: these run in `make test-postgres`.
"""

import shutil
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.migrations.loader import MigrationLoader

import board
from core.migration_lint import project_app_labels

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

LAST = "0005_content_limits"  # board's newest migration: the new ones follow it


@pytest.fixture
def board_migrations(tmp_path, settings):
    """A copy of board's migrations package, used instead of it; returns a function that adds a
    migration to it: add(name, operations, *, header="", atomic=True, after=LAST)."""
    package = f"board_migrations_{uuid.uuid4().hex}"
    shutil.copytree(Path(board.__file__).parent / "migrations", tmp_path / package)
    sys.path.insert(0, str(tmp_path))
    settings.MIGRATION_MODULES = {"board": package}

    def add(name, operations, *, header="", atomic=True, after=LAST):
        source = f'''\
            {header}
            from django.contrib.postgres.operations import AddIndexConcurrently
            from django.db import migrations, models


            class Migration(migrations.Migration):
                atomic = {atomic}
                dependencies = [("board", "{after}")]
                operations = [{operations}]
            '''
        (tmp_path / package / f"{name}.py").write_text(textwrap.dedent(source))

    yield add
    sys.path.remove(str(tmp_path))
    for module in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[module]


def migrations_on_disk() -> int:
    """The project's migrations (MIGRATION_MODULES as the test sets it)."""
    labels = project_app_labels()
    return sum(app_label in labels for app_label, _ in MigrationLoader(None).disk_migrations)


def refusal(capsys) -> str:
    with pytest.raises(CommandError, match="would lock a table or break the release"):
        call_command("lint_migrations")
    err = capsys.readouterr().err
    print(err)  # what a developer reads (-rP)
    return err


def test_the_shipped_migrations_pass(capsys):
    call_command("lint_migrations")
    assert f"{migrations_on_disk()} migrations, no finding" in capsys.readouterr().out


def test_not_null_column_without_a_database_default_is_refused(board_migrations, capsys):
    # What makemigrations writes for a new non-null field (Django drops the default right after
    # adding the column), and a field with no default at all.
    board_migrations(
        "0006_score",
        'migrations.AddField("post", "score", models.IntegerField(default=0)), '
        'migrations.AddField("post", "rank", models.IntegerField())',
    )
    err = refusal(capsys)
    assert "board.0006_score (Add field score to post): ban-drop-default" in err
    assert "board.0006_score (Add field rank to post): adding-required-field" in err
    assert "db_default=" in err and "two steps: (1) add it with null=True" in err


def test_rename_is_refused(board_migrations, capsys):
    board_migrations("0006_headline", 'migrations.RenameField("post", "title", "headline")')
    err = refusal(capsys)
    assert "board.0006_headline (Rename field title on post to headline): renaming-column" in err
    assert "db_column='<old name>'" in err and "in a later release" in err


def test_index_built_without_concurrently_is_refused(board_migrations, capsys):
    index = 'models.Index(fields=["title"], name="post_title_idx")'
    board_migrations("0006_title_index", f'migrations.AddIndex("post", {index})')
    err = refusal(capsys)
    assert "board.0006_title_index (Create index post_title_idx on field(s) title" in err
    assert "require-concurrent-index-creation" in err and "AddIndexConcurrently" in err


def test_a_column_type_change_is_refused(board_migrations, capsys):
    # timestamptz to date: PostgreSQL rewrites every row under ACCESS EXCLUSIVE.
    board_migrations(
        "0006_created_on", 'migrations.AlterField("post", "created_at", models.DateField())'
    )
    err = refusal(capsys)
    assert "board.0006_created_on (Alter field created_at on post): changing-column-type" in err
    assert "rewrites the table" in err and "in a later release, drop the old one" in err


def test_the_expand_contract_way_passes(board_migrations, capsys):
    """Expand: a nullable column, a NOT NULL one with a database default, a concurrent index.
    Contract, a release later: the drop, saying which release stopped using the column."""
    index = 'models.Index(fields=["title"], name="post_title_idx")'
    board_migrations(
        "0006_expand",
        'migrations.AddField("post", "summary", models.TextField(null=True)), '
        'migrations.AddField("post", "score", models.IntegerField(db_default=0))',
    )
    board_migrations("0007_index", f'AddIndexConcurrently("post", {index})', atomic=False,
                     after="0006_expand")  # fmt: skip
    board_migrations(
        "0008_contract",
        'migrations.RemoveField("post", "summary")',
        header="# migration-lint: allow ban-drop-column -- release 0007 stopped reading summary",
        after="0007_index",
    )
    call_command("lint_migrations")
    assert f"{migrations_on_disk()} migrations, no finding" in capsys.readouterr().out


def test_a_drop_is_refused_without_the_escape_hatch(board_migrations, capsys):
    board_migrations("0006_drop", 'migrations.RemoveField("post", "updated_at")')
    err = refusal(capsys)
    assert "board.0006_drop (Remove field updated_at from post): ban-drop-column" in err
    assert "Two steps: (1) stop using it" in err


@pytest.mark.parametrize(
    "hatch",
    ["# migration-lint: allow renaming-column", "# migration-lint: allow renaming-column --"],
)
def test_the_escape_hatch_needs_a_reason(board_migrations, capsys, hatch):
    board_migrations(
        "0006_headline", 'migrations.RenameField("post", "title", "headline")', header=hatch
    )
    err = refusal(capsys)
    assert "board.0006_headline: escape-hatch-without-reason" in err
    assert "renaming-column" in err  # the rename is still refused


def test_the_escape_hatch_with_a_reason_allows_the_named_rule_only(board_migrations, capsys):
    board_migrations(
        "0006_headline",
        'migrations.RenameField("post", "title", "headline"), '
        'migrations.RemoveField("post", "updated_at")',
        header="# migration-lint: allow renaming-column -- no release reads post.title any more",
    )
    err = refusal(capsys)
    assert "renaming-column" not in err
    assert "ban-drop-column" in err
