"""What the test suites share, imported as ``support`` (pyproject.toml puts tests/ on pytest's
path). Test modules import helpers from here, never from one another
(tests/deploy/test_suite_imports.py checks it).

paths             the repository's directories
tools             command-line tools from the venv (ansible-playbook, ssh-audit, ...)
roles             the roles' defaults and vars, the values the tests check
inventory         the inventory the end-to-end suites deploy with
vault             the vault of a test run
playbooks         playbook runs against test hosts (Provisioned), booting and provisioning
ordering          the order the end-to-end suites run their tests in
releases          commits to ship, and their artifact built as the release role builds it
client, load      curl against a site over HTTPS; a bounded HTTPS load
https_api         the API tests both end-to-end suites run (once per app server)
throttle          requests straight to Gunicorn's socket for a made-up client address
least_privilege   the database's privilege checks (provisioned server and compose stack)
monitoring        Prometheus's and Alertmanager's APIs on a test host
textfile_metrics  the job results a host writes for the node exporter
pgbouncer         PgBouncer's settings on a test server
"""
