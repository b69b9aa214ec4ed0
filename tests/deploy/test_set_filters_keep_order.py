"""Ansible's set filters (intersect, difference, union, symmetric_difference) return a Python
set's order, which changes with each process's hash seed: a list derived with one and written
to a file or looped over in order renders differently from one run to the next, and a second
site.yml reports a change (the idempotence tests caught "postgres, node" after "node, postgres"
in the exporters' web config). Where only the size counts (`| length`) or the result is sorted,
the order does not matter; everywhere else the roles use select/reject('in', ...), which keep
the first list's order."""

from __future__ import annotations

import re

from support.paths import DEPLOY, repo_files

SET_FILTERS = re.compile(r"\|\s*(intersect|difference|union|symmetric_difference)\s*\(")
# What may follow the filter's closing parenthesis: a size or a sort.
ORDER_FREE = re.compile(r"\s*\)*\s*\|\s*(length|count|sort)\b")


def _closing_paren(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise AssertionError(f"unbalanced parenthesis after offset {start}")


def order_dependent_uses(text: str) -> list[str]:
    uses = []
    for match in SET_FILTERS.finditer(text):
        end = _closing_paren(text, match.end() - 1)
        if not ORDER_FREE.match(text, end + 1):
            uses.append(text[match.start() : end + 1])
    return uses


def test_the_guard_tells_an_ordered_use_from_an_order_free_one():
    assert order_dependent_uses("{{ a | intersect(b) | join(', ') }}") == ["| intersect(b)"]
    assert order_dependent_uses("{{ a | difference(f(b, c)) }}") == ["| difference(f(b, c))"]
    assert order_dependent_uses("{{ (a | intersect(b)) | length > 0 }}") == []
    assert order_dependent_uses("{{ a | union(b) | sort }}") == []
    assert order_dependent_uses("{{ a | reject('in', b) | list }}") == []


def test_no_role_or_playbook_depends_on_a_set_filters_order():
    found = []
    for path in repo_files(DEPLOY):
        if path.suffix in {".yml", ".yaml", ".j2"}:
            found += [
                f"{path.relative_to(DEPLOY)}: {use}"
                for use in order_dependent_uses(path.read_text())
            ]
    assert found == [], (
        "set filters whose order changes with the hash seed (use select/reject('in', ...), "
        "or sort the result):\n" + "\n".join(found)
    )
