# The two commands: `make run` serves the API locally, `make test` runs every suite.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Run from app/: `cd app && $(MANAGE) migrate`.
MANAGE := ../$(BIN)/python manage.py
# pytest for the suites under tests/ (everything but the API suite): no Django in the process, so
# pyproject's Django ini key is unknown there (not an error); no cache directory. pyproject.toml
# puts tests/ on the path: every suite imports the shared helpers as `support` (tests/support).
PYTEST_INFRA := $(BIN)/pytest -p no:django -p no:cacheprovider -W ignore::pytest.PytestConfigWarning
# The figures passed tests print (load counts, drill times, the deploy log), and the failed and erred
# tests named again at the very end: -rP alone replaces pytest's default fE, so a failure's name would
# only appear in the middle of a long log.
PYTEST_FIGURES := -rfEP

.PHONY: help run test lint lint-workflows lint-migrations test-app test-sqlite test-postgres test-deploy migrations-check \
        check-deploy check-push test-sentry test-first-line test-beside-e2e test-second-line test-e2e test-e2e-multihost test-containers test-bench bench release provision deploy rollback smoke lock clean

# The git revision `make release`, `make deploy` and `make provision` ship (any ref). Unset:
# release and deploy ship the checkout's HEAD; provision keeps the release that serves.
REVISION ?=
# An artifact built beforehand (`make release`, or CI's) that `make deploy` ships instead of
# building one, with the sha256 recorded when it was built (its last lines print both).
ARTIFACT ?=
ARTIFACT_SHA256 ?=

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# The venv's own pip installs the hash-pinned locks (no unpinned upgrade of pip itself).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base-installed: requirements/base.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.lock
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	touch $@ $(VENV)/.base-installed

.env:
	scripts/write-local-env.sh .env

run: $(VENV)/.base-installed .env ## Serve the API on http://127.0.0.1:8000 (SQLite, demo data).
	cd app && $(MANAGE) migrate --noinput
	# migrate also creates the throttle counters' table in the same SQLite file (no Redis here).
	cd app && $(MANAGE) seed_demo
	cd app && $(MANAGE) collectstatic --noinput --verbosity 0
	@echo "Serving on http://127.0.0.1:8000 - Swagger UI at http://127.0.0.1:8000/api/docs/"
	# No Gunicorn access log: the app logs one JSON line per request.
	cd app && exec ../$(BIN)/gunicorn --bind 127.0.0.1:8000 --workers 2 config.wsgi:application

test: $(VENV)/.dev-installed ## Run every suite.
	# Two lines of about the same length, side by side. The first: the checks on the files and the
	# API suites, then the single-host end-to-end suite with the controller's, the bench and the
	# container suite beside it. The second, from the start: the lab. Both cores are busy most of
	# the run (85% on average in 15-second samples of /proc/stat, over 90% in half of them), so
	# what shortens make test is less work; a line that ends first leaves a core idle.
	# Distinct names and subnets (tests/e2e/testbed/server.py); apt and the rootfs cache take locks.
	$(MAKE) --no-print-directory --output-sync=target -j2 test-first-line test-second-line
	@echo "make test: every suite passed"

lint: $(VENV)/.dev-installed lint-migrations ## ruff, yamllint, ansible-lint, zizmor, hadolint, the compose spec, promtool/amtool, squawk.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint --strict deploy .github docker-compose.yml docker monitoring
	$(BIN)/hadolint Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	cd deploy && PATH="$(abspath $(BIN)):$$PATH" ../$(BIN)/ansible-lint --offline --profile production
	scripts/lint-workflows.sh
	# promtool/amtool from Debian's packages: the rules, their tests, the rendered configs.
	BIN=$(abspath $(BIN)) scripts/check-monitoring.sh

lint-workflows: $(VENV)/.dev-installed ## check-jsonschema and zizmor on .github/workflows.
	scripts/lint-workflows.sh

lint-migrations: $(VENV)/.dev-installed ## squawk on each migration's PostgreSQL SQL: no table lock, expand/contract.
	# Django generates part of that SQL from the catalog, so it needs a server: a throwaway
	# cluster (or DATABASE_URL's server, on which it creates and drops a scratch database).
	cd app && DEBUG=True ../scripts/with-test-postgres.sh $(MANAGE) lint_migrations

migrations-check: $(VENV)/.dev-installed ## Fail when a model change has no migration.
	# A development environment: this command serves no traffic and needs no secret.
	cd app && DEBUG=True $(MANAGE) makemigrations --check --dry-run

check-deploy: $(VENV)/.dev-installed ## Django's deploy checks with production-like values.
	cd app && DEBUG=False SECRET_KEY="$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	    ALLOWED_HOSTS=board.example.com SECURE_SSL_REDIRECT=True SECURE_COOKIES=True \
	    SECURE_HSTS_SECONDS=63072000 SECURE_HSTS_INCLUDE_SUBDOMAINS=True SECURE_HSTS_PRELOAD=True \
	    $(MANAGE) check --deploy --fail-level WARNING

check-push: $(VENV)/.dev-installed ## What the first deploying git push needs: prints what is missing.
	$(BIN)/python deploy/scripts/check_push.py

test-app: ## The API suite on both databases, side by side (a process each: two cores).
	$(MAKE) --no-print-directory --output-sync=target -j2 test-sqlite test-postgres

# The throttle tests start a throwaway redis-server on a unix socket (no daemon, no TCP port).
test-sqlite: $(VENV)/.dev-installed ## The API suite on SQLite.
	scripts/install-debian-packages.sh redis-server
	env -u DATABASE_URL $(BIN)/pytest -p no:cacheprovider

test-postgres: $(VENV)/.dev-installed ## The API suite on PostgreSQL (a throwaway cluster unless DATABASE_URL is set).
	scripts/install-debian-packages.sh redis-server
	scripts/with-test-postgres.sh $(BIN)/pytest -p no:cacheprovider --create-db

test-sentry: $(VENV)/.dev-installed ## A forced error reaches a real Bugsink server, with no secret in it.
	# Bugsink gets its own venv from requirements/bugsink.lock, cached in /var/tmp/board-bugsink.
	$(PYTEST_INFRA) $(PYTEST_FIGURES) tests/sentry

test-deploy: $(VENV)/.dev-installed ## Ansible logic checked on the controller (no host changes).
	$(PYTEST_INFRA) tests/deploy

# The controller's suite, the bench and the container suite beside the single-host one, at a lower
# priority: about 12 min of CPU, which they take while the test host waits on timers, alerts and
# load. After the checks: tests/deploy writes its playbooks into deploy/, where lint reads.
test-first-line: $(VENV)/.dev-installed
	$(MAKE) --no-print-directory lint migrations-check check-deploy test-app test-sentry
	$(MAKE) --no-print-directory --output-sync=target -j2 test-e2e test-beside-e2e

test-beside-e2e: $(VENV)/.dev-installed
	nice -n 10 $(MAKE) --no-print-directory test-deploy test-bench test-containers

test-second-line: $(VENV)/.dev-installed
	$(MAKE) --no-print-directory test-e2e-multihost

test-e2e: $(VENV)/.dev-installed ## Provision a systemd test host with Ansible and probe it.
	$(PYTEST_INFRA) $(PYTEST_FIGURES) --durations=12 tests/e2e

test-e2e-multihost: $(VENV)/.dev-installed ## Provision a database server and two app servers, probe them, then a Patroni cluster.
	# Four systemd test hosts on one private network (tests/e2e/testbed/lab.py): db, app1, app2,
	# and db2, which the high-availability tests add; the API tests of tests/e2e run against each
	# app server (tests/support/https_api.py).
	$(PYTEST_INFRA) $(PYTEST_FIGURES) --durations=12 tests/e2e_multihost

test-containers: $(VENV)/.dev-installed ## Build the image and run docker-compose.yml with podman.
	# Installs podman, runc and netavark when missing; podman reads tests/containers/containers.conf.
	scripts/install-debian-packages.sh podman runc netavark aardvark-dns iptables
	$(PYTEST_INFRA) $(PYTEST_FIGURES) tests/containers

# The bench's programs: PostgreSQL, pgBackRest, Redis, Nginx and wrk (none is started as a service).
BENCH_PACKAGES := postgresql pgbackrest redis-server nginx wrk openssl
# Knobs of `make bench` (see bench/run.py for the others, e.g. BENCH_DURATION).
BENCH_ROWS ?= 100000
BENCH_REPS ?= 5

bench: $(VENV)/.dev-installed ## Benchmark the production shape on loopback: make bench [BENCH_ROWS=1000000] [BENCH_REPS=5]
	scripts/install-debian-packages.sh $(BENCH_PACKAGES)
	BENCH_ROWS=$(BENCH_ROWS) BENCH_REPS=$(BENCH_REPS) $(BIN)/python -m bench

test-bench: $(VENV)/.dev-installed ## The bench's code on a tiny data set (the full bench is not in CI).
	scripts/install-debian-packages.sh $(BENCH_PACKAGES)
	$(PYTEST_INFRA) tests/bench

release: $(VENV)/.dev-installed ## Build the release artifact for REVISION into deploy/.build/.
	PYTHON=$(abspath $(BIN)/python) deploy/scripts/build_release.sh --rev $(or $(REVISION),HEAD)

provision: $(VENV)/.dev-installed ## Provision the production servers (site.yml; ships REVISION only if set).
	cd deploy && ../$(BIN)/ansible-playbook -i inventories/production site.yml \
	    $(if $(REVISION),-e release_revision=$(REVISION))

deploy: $(VENV)/.dev-installed ## Deploy REVISION (or ARTIFACT with ARTIFACT_SHA256) to production (deploy.yml).
	cd deploy && ../$(BIN)/ansible-playbook -i inventories/production deploy.yml \
	    $(if $(ARTIFACT),-e release_artifact=$(abspath $(ARTIFACT)) -e release_artifact_sha256=$(ARTIFACT_SHA256) \
	        $(if $(REVISION),-e release_revision=$(REVISION)),-e release_revision=$(or $(REVISION),HEAD))

rollback: $(VENV)/.dev-installed ## Roll production back (TO=<sha> for a named release).
	cd deploy && ../$(BIN)/ansible-playbook -i inventories/production rollback.yml \
	    $(if $(TO),-e rollback_to=$(TO))

smoke: ## Smoke-test a running site: make smoke URL=https://board.example.com
	scripts/smoke-test.sh "$(URL)"

lock: | $(BIN)/python ## Re-resolve the lock files (installs uv into the venv when missing).
	[ -x $(BIN)/uv ] || $(BIN)/pip install --quiet uv
	export PATH="$(abspath $(BIN)):$$PATH"; \
	uv pip compile --quiet --generate-hashes --python-version 3.11 requirements/base.in -o requirements/base.lock; \
	uv pip compile --quiet --generate-hashes --python-version 3.11 requirements/dev.in -o requirements/dev.lock; \
	uv pip compile --quiet --generate-hashes --python-version 3.11 requirements/render.in -o requirements/render.lock; \
	uv pip compile --quiet --generate-hashes --python-version 3.11 requirements/bugsink.in -o requirements/bugsink.lock

clean: ## Remove the virtualenv and local build output.
	rm -rf $(VENV) app/staticfiles deploy/.build .pytest_cache .ruff_cache
