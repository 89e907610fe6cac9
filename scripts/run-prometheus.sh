#!/usr/bin/env bash
# Run Prometheus scraping the three services: run-prometheus.sh <data-dir> <port> <facing> <api> <worker>
# (each service given as host:port).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_dir=${1:?usage: run-prometheus.sh <data-dir> <port> <facing> <api> <worker>}
port=${2:?port}
facing=${3:?customer-facing host:port}
api=${4:?customer-management-api host:port}
worker=${5:?customer-management-worker host:port}
command -v prometheus >/dev/null || die "prometheus missing; run scripts/install.sh system"

mkdir -p "$data_dir/tsdb"
cat >"$data_dir/prometheus.yml" <<YAML
# Written by scripts/run-prometheus.sh; the job names match the chart's scrape config.
global:
  scrape_interval: ${PROMETHEUS_SCRAPE_INTERVAL:-5s}
  evaluation_interval: 15s
scrape_configs:
  - job_name: customer-facing
    static_configs: [{targets: ["$facing"]}]
  - job_name: customer-management-api
    static_configs: [{targets: ["$api"]}]
  - job_name: customer-management-worker
    static_configs: [{targets: ["$worker"]}]
YAML
promtool check config "$data_dir/prometheus.yml" >/dev/null

exec prometheus \
  --config.file="$data_dir/prometheus.yml" \
  --storage.tsdb.path="$data_dir/tsdb" \
  --storage.tsdb.retention.time=7d \
  --web.listen-address="127.0.0.1:$port" \
  --web.enable-lifecycle \
  --log.level=warn
