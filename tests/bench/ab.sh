#!/usr/bin/env bash
# A/B one customer-facing configuration: ab.sh <gil-switch-s> <workers> <threads> [worker-class]
# Starts a private customer-facing on :13500 against the running platform (make up), warms it, then
# prints wrk's rate and latency for 12 s at 16 connections. BUYLIST_KAFKA_LINGER_MS etc. pass through.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export BUYLIST_KAFKA_BOOTSTRAP=${BUYLIST_KAFKA_BOOTSTRAP:-127.0.0.1:9092}
export BUYLIST_MONGODB_URI=${BUYLIST_MONGODB_URI:-mongodb://127.0.0.1:27017/}
export BUYLIST_MANAGEMENT_URL=${BUYLIST_MANAGEMENT_URL:-http://127.0.0.1:3001}
export BUYLIST_PORT=13500 BUYLIST_LOG_FORMAT=json PROMETHEUS_MULTIPROC_DIR=/tmp/buylist-ab-metrics
export BUYLIST_GIL_SWITCH_INTERVAL_SECONDS=${1:?gil switch interval} BUYLIST_WEB_WORKERS=${2:?workers} BUYLIST_WEB_THREADS=${3:?threads}
log=$(mktemp)
.venv/bin/buylist customer-facing >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do curl -sf localhost:13500/ready >/dev/null && break; sleep 0.2; done
wrk -t2 -c16 -d3s -s tests/bench/post.lua http://127.0.0.1:13500/buy >/dev/null
wrk -t2 -c16 -d12s -s tests/bench/post.lua http://127.0.0.1:13500/buy | sed -n 's/^BENCH //p' \
  | .venv/bin/python -c "
import json, sys
d = json.load(sys.stdin)
print(f'switch=$1 workers=$2 threads=$3: {d[\"requests\"] / d[\"seconds\"]:.0f} req/s, '
      f'p50 {d[\"p50_ms\"]} ms, p95 {d[\"p95_ms\"]} ms, p99 {d[\"p99_ms\"]} ms, {d[\"statuses\"]}')"
