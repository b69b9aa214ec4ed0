"""Each Debian release the end-to-end suites boot (tests/e2e/testbed/releases.py) has its settings
in every role that keeps settings per distribution release (vars/<Distribution>-<major>.yml, or
vars/<Distribution>.yml for every release of a distribution), the same settings as the others.
Reads the files only."""

from __future__ import annotations

import pytest
import yaml
from e2e.testbed import releases
from support.paths import ROLES

# Files in vars/ that are not one distribution's settings.
NOT_PER_RELEASE = {"main.yml", "unsupported.yml"}
DEBIAN_VERSIONS = sorted(set(releases.VERSIONS.values()), key=int)


def _per_release_roles() -> list[str]:
    return sorted(
        role.name
        for role in ROLES.iterdir()
        if any(f.name not in NOT_PER_RELEASE for f in (role / "vars").glob("*.yml"))
    )


def _debian_vars(role: str, version: str) -> dict | None:
    """The values the role loads on Debian `version` (its most specific file first), or None."""
    for name in (f"Debian-{version}.yml", "Debian.yml"):
        path = ROLES / role / "vars" / name
        if path.is_file():
            return yaml.safe_load(path.read_text()) or {}
    return None


def test_some_roles_keep_settings_per_release():
    assert {"base", "postgresql", "redis", "app", "release", "nginx"} <= set(_per_release_roles())


@pytest.mark.parametrize("version", DEBIAN_VERSIONS)
def test_every_role_with_per_release_settings_has_them_for_each_tested_debian(version):
    missing = [role for role in _per_release_roles() if _debian_vars(role, version) is None]
    assert missing == [], f"no vars/Debian-{version}.yml (or Debian.yml) in roles {missing}"


@pytest.mark.parametrize("role", _per_release_roles())
def test_each_tested_debian_gets_the_same_settings_as_the_others(role):
    names = {version: set(_debian_vars(role, version) or {}) for version in DEBIAN_VERSIONS}
    assert len({frozenset(n) for n in names.values()}) == 1, names


@pytest.mark.parametrize("version", DEBIAN_VERSIONS)
def test_the_roles_that_list_their_releases_name_each_tested_debian(version):
    lists = {
        f"{role.name}: {name}": value
        for role in sorted(ROLES.iterdir())
        if (role / "vars/main.yml").is_file()
        for name, value in (yaml.safe_load((role / "vars/main.yml").read_text()) or {}).items()
        if name.endswith("_supported_platforms")
    }
    assert lists, "no role lists its supported releases"
    assert [where for where, value in lists.items() if f"Debian-{version}" not in value] == []
