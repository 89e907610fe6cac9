#!/usr/bin/env bash
# Run FerretDB (MongoDB wire protocol, SQLite backend) in the foreground: run-ferretdb.sh <data-dir> <port>
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_dir=${1:?usage: run-ferretdb.sh <data-dir> <port>}
port=${2:?port}
[[ -x $FERRETDB_BIN ]] || die "FerretDB missing; run scripts/install.sh ferretdb"
mkdir -p "$data_dir/sqlite" "$data_dir/state"

exec "$FERRETDB_BIN" \
  --handler=sqlite \
  --sqlite-url="file:$data_dir/sqlite/" \
  --state-dir="$data_dir/state" \
  --listen-addr="127.0.0.1:$port" \
  --debug-addr=- \
  --telemetry=disable \
  --log-level="${FERRETDB_LOG_LEVEL:-warn}"
