#!/usr/bin/env bash
# Lint the GitHub Actions workflows, offline.
#
#   scripts/lint-workflows.sh
#
# 1. check-jsonschema validates every .github/workflows/*.yml|*.yaml against its vendored
#    "vendor.github-workflows" schema (shipped inside check-jsonschema: no download).
# 2. zizmor audits .github/workflows in offline mode (online audits are skipped). Any finding,
#    whatever its severity, fails the script. Suppressions must be inline
#    `# zizmor: ignore[rule]` comments with a reason next to them.
# 3. pytest tests/workflows: the deploy ships the artifact CI built, with its sha256; the deploy
#    secrets reach only `environment: production` jobs, are passed by name to the reusable
#    workflow, and an empty one stops the deploy at its first step.
#
# Tools come from the project venv (.venv/bin), else from PATH. Exit 0 only when all three pass.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tool() {
    if [[ -x ".venv/bin/$1" ]]; then
        echo ".venv/bin/$1"
    elif command -v "$1" >/dev/null; then
        command -v "$1"
    else
        echo "lint-workflows: $1 not found (run 'make lint' once to create .venv)" >&2
        return 1
    fi
}
check_jsonschema="$(tool check-jsonschema)"
zizmor="$(tool zizmor)"
pytest="$(tool pytest)"

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
if [[ ${#workflows[@]} -eq 0 ]]; then
    echo "lint-workflows: no workflow files under .github/workflows" >&2
    exit 1
fi

status=0

echo "lint-workflows: check-jsonschema (vendor.github-workflows) on ${#workflows[@]} file(s): ${workflows[*]}"
if ! "$check_jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"; then
    echo "lint-workflows: FAIL schema validation" >&2
    status=1
fi

echo "lint-workflows: zizmor $("$zizmor" --version | awk '{print $2}') --offline .github/workflows"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
# The exit status alone is not trusted: zizmor is also asked for JSON and the findings counted.
zizmor_rc=0
"$zizmor" --quiet --offline --strict-collection --no-progress --color never --format json .github/workflows >"$report" || zizmor_rc=$?
findings="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$report" 2>/dev/null || echo unreadable)"
if [[ "$findings" == unreadable ]]; then
    # zizmor itself failed (exit 1/2: unparsable workflow, bad flag); show why.
    "$zizmor" --quiet --offline --strict-collection --no-progress --color never .github/workflows 2>&1 \
        | grep -v '^ *[0-9]*: \|^ *at ' || true
    echo "lint-workflows: FAIL zizmor could not audit the workflows (exit status $zizmor_rc)" >&2
    status=1
elif [[ "$zizmor_rc" -ne 0 || "$findings" != 0 ]]; then
    # Show the findings in the readable form.
    "$zizmor" --quiet --offline --strict-collection --no-progress --color never .github/workflows || true
    echo "lint-workflows: FAIL zizmor reported $findings finding(s) (exit status $zizmor_rc)" >&2
    status=1
else
    "$zizmor" --quiet --offline --strict-collection --no-progress --color never .github/workflows
fi

echo "lint-workflows: pytest tests/workflows (deploy secrets only in the production environment)"
# No Django here (its ini keys are then unknown: not an error).
if ! "$pytest" -p no:django -p no:cacheprovider -W ignore::pytest.PytestConfigWarning -q tests/workflows; then
    echo "lint-workflows: FAIL the workflow tests" >&2
    status=1
fi

if [[ $status -eq 0 ]]; then
    echo "lint-workflows: OK"
fi
exit "$status"
