"""The suites share helpers through tests/support, not through one another's test modules.

A test module holds tests; a helper one suite needs from another lives in a support module under
a public name. So no module under tests/ imports a private name (leading underscore) from
another module under tests/, and none imports anything from a test_*.py module (its tests would
be collected twice, its helpers hidden where nobody looks for them).
"""

from __future__ import annotations

import ast
from pathlib import Path

from support.paths import TESTS


def _module_name(path: Path) -> list[str]:
    """tests/e2e/test_x.py -> ["e2e", "test_x"]; a package's __init__.py -> the package."""
    parts = list(path.relative_to(TESTS).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(path: Path, node: ast.ImportFrom) -> list[str]:
    """The module an ImportFrom imports from, as parts relative to tests/."""
    if not node.level:
        return node.module.split(".") if node.module else []
    here = _module_name(path)
    package = here if _is_package(path) else here[:-1]
    base = package[: len(package) - (node.level - 1)]
    return base + (node.module.split(".") if node.module else [])


def _in_tests(parts: list[str]) -> bool:
    return bool(parts) and (TESTS / parts[0]).is_dir()


def _is_test_module(parts: list[str]) -> bool:
    return bool(parts) and parts[-1].startswith("test_") and _module_file(parts) is not None


def _module_file(parts: list[str]) -> Path | None:
    candidate = TESTS.joinpath(*parts)
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if path.is_file():
            return path
    return None


def import_violations() -> list[str]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        where = path.relative_to(TESTS)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if _in_tests(parts) and _is_test_module(parts):
                        found.append(f"{where}:{node.lineno} imports the test module {alias.name}")
            elif isinstance(node, ast.ImportFrom):
                parts = _resolve(path, node)
                if not _in_tests(parts) or _module_file(parts) == path:
                    continue
                source = ".".join(parts)
                for alias in node.names:
                    if _is_test_module(parts):
                        found.append(f"{where}:{node.lineno} imports {alias.name} from {source}")
                    elif _is_test_module([*parts, alias.name]):
                        found.append(f"{where}:{node.lineno} imports the test module {alias.name}")
                    elif alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{where}:{node.lineno} imports {alias.name} from {source}")
    return found


def test_no_test_module_imports_private_names_or_other_test_modules():
    found = import_violations()
    assert found == [], "move these helpers to tests/support:\n" + "\n".join(found)
