# Stand-ins for the make targets of ci.yml's jobs that cannot run inside an end-to-end test,
# for tests/e2e/test_push_deploy.py, which runs the real ci.yml with act on a pushed commit.
# That commit's GNUmakefile (make reads it before Makefile) includes the Makefile and then this
# file: each recipe here replaces the Makefile's (make warns "overriding recipe"); the targets
# not named here (migrations-check, check-deploy, deploy...) run as they are.
#
# Every stand-in succeeds: a stand-in job passes, so what fails a run is a real target.

# The virtualenv: setup-python's stand-in links the workspace's .venv to the controller's, which
# has every lock installed; pip would only check it (and write into it) from five jobs at once.
$(VENV)/.dev-installed:
	@echo "stand-in: $@ (the controller's virtualenv, every lock installed)"

# ruff, yamllint, ansible-lint, hadolint, promtool, squawk on a throwaway PostgreSQL cluster:
# minutes of CPU, and make test runs them itself (`make lint`) on the same tree.
lint lint-migrations:
	@echo "stand-in: make $@ (make test runs the real one)"

# The API suite, minutes on each database; test-postgres needs the job's PostgreSQL service
# container, which act's host mode does not start. make test runs both (test-app).
test-sqlite test-postgres:
	@echo "stand-in: make $@ (make test runs the real one: test-app)"

# The end-to-end and container suites: each provisions hosts for half an hour, and this test
# is itself part of one of them (make test-side-by-side runs all three).
test-e2e test-e2e-multihost test-containers:
	@echo "stand-in: make $@ (make test runs the real one: test-side-by-side)"
