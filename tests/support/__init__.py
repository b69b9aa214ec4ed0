"""What the test suites share: repository paths, venv tools, playbook runs and the vault, the
roles' defaults, the HTTPS client and load, release builds, and checks more than one suite runs.

Every suite imports it as ``support`` (pyproject.toml puts tests/ on pytest's path); test
modules import helpers from here, never from one another.
"""
