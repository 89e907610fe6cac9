# shellcheck shell=bash
# Shared paths and helpers for the buylist scripts; sourced, never executed.

BUYLIST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Downloads and builds that survive `make clean` and fresh clones on the same machine.
BUYLIST_CACHE="${BUYLIST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/buylist}"
BUYLIST_VENV="${BUYLIST_VENV:-$BUYLIST_ROOT/.venv}"
BUYLIST_STATE="${BUYLIST_STATE:-$BUYLIST_ROOT/.state}"

KAFKA_VERSION="${KAFKA_VERSION:-4.0.1}"
FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
# The pom is part of the cache key: changing the resolved jars must refetch them.
KAFKA_LIBS="$BUYLIST_CACHE/kafka-$KAFKA_VERSION-$(sha256sum "$BUYLIST_ROOT/scripts/kafka/pom.xml" | cut -c1-12)/libs"
# So are buylist's patches to FerretDB (scripts/ferretdb/*.patch, applied in name order before the build).
FERRETDB_BIN="$BUYLIST_CACHE/ferretdb-$FERRETDB_VERSION-$(cat "$BUYLIST_ROOT"/scripts/ferretdb/*.patch | sha256sum | cut -c1-12)/ferretdb"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
HELM_BIN="$BUYLIST_CACHE/helm-$HELM_VERSION/helm"
# checkov pins many libraries of its own; it lives in a venv of its own so it never moves the project's pins.
CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
CHECKOV_VENV="$BUYLIST_CACHE/checkov-$CHECKOV_VERSION"

export BUYLIST_ROOT BUYLIST_CACHE BUYLIST_VENV BUYLIST_STATE KAFKA_VERSION FERRETDB_VERSION KAFKA_LIBS FERRETDB_BIN
export HELM_VERSION HELM_BIN CHECKOV_VERSION CHECKOV_VENV

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Run a long command, printing a dot every few seconds so the user sees progress.
with_progress() {
  local label=$1; shift
  local log; log=$(mktemp)
  printf '    %s ' "$label"
  "$@" >"$log" 2>&1 &
  local pid=$! start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do printf '.'; sleep 3; done
  if wait "$pid"; then
    printf ' done (%ss)\n' "$((SECONDS - start))"
    rm -f "$log"
  else
    printf ' FAILED\n'
    tail -n 40 "$log" >&2
    rm -f "$log"
    return 1
  fi
}
