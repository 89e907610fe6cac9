#!/usr/bin/env bash
# Run everything `make test` promises: installs, static checks, then every pytest tier.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BUYLIST_ROOT"

started=$SECONDS
say "installing what the tests need"
scripts/install.sh all chromium helm checkov

say "static checks: shellcheck, ruff, mypy"
"$BUYLIST_VENV/bin/shellcheck" -x scripts/*.sh apps/docker/install.sh .ci/run
"$BUYLIST_VENV/bin/ruff" check apps tests loadtests
"$BUYLIST_VENV/bin/ruff" format --check apps tests loadtests
"$BUYLIST_VENV/bin/mypy"

say "pytest: unit, integration, faults and browser tiers (each fixture starts and stops its own processes)"
# Extra arguments go to pytest, e.g. scripts/test.sh -m unit
"$BUYLIST_VENV/bin/python" -m pytest "$@"
say "make test finished in $((SECONDS - started))s"
