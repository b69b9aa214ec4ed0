"""Every role declares its inputs: the options of meta/argument_specs.yml (main entry point) are
exactly the variables of defaults/main.yml, each with a type and a description, and nothing in
the spec contradicts the defaults. Reads the files only."""

from __future__ import annotations

import pytest

from .role_specs import ROLES, defaults, main_spec, options, resolved_after_the_check


@pytest.mark.parametrize("role", ROLES)
def test_the_spec_declares_every_default_and_nothing_else(role):
    late = resolved_after_the_check(role)
    assert set(options(role)) == set(defaults(role)) - late
    # Those that cannot be options are named in the spec's description, for ansible-doc readers.
    description = " ".join(main_spec(role).get("description") or [])
    assert [name for name in sorted(late) if name not in description] == []


@pytest.mark.parametrize("role", ROLES)
def test_each_option_has_a_type_and_a_description_and_agrees_with_the_defaults(role):
    values = defaults(role)
    for name, spec in options(role).items():
        assert spec.get("type"), name
        assert spec.get("description"), name
        # Every option has its default in defaults/main.yml, its one home: none is required,
        # and a default repeated in the spec would be a second home that can drift.
        assert not spec.get("required"), name
        assert "default" not in spec, name
        if "choices" in spec and "{{" not in str(values[name]):
            # A list's choices are those of its elements (Ansible checks each).
            chosen = values[name] if spec.get("type") == "list" else [values[name]]
            assert set(chosen) <= set(spec["choices"]), name
