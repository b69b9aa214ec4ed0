"""tests/deploy writes the end-to-end suites' inventories with their own writers, whose modules
carry the end-to-end markers: the same markers here."""

from support.ordering import pytest_configure  # noqa: F401
