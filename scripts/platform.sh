#!/usr/bin/env bash
# Run the whole platform locally under supervisord: platform.sh up|down|status|logs [name]|clean
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT=${BUYLIST_LOCAL_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${BUYLIST_LOCAL_KAFKA_CONTROLLER_PORT:-9093}
MONGO_PORT=${BUYLIST_LOCAL_MONGO_PORT:-27017}
FACING_PORT=${BUYLIST_LOCAL_FACING_PORT:-3000}
API_PORT=${BUYLIST_LOCAL_API_PORT:-3001}
WORKER_PORT=${BUYLIST_LOCAL_WORKER_PORT:-3002}
FRONTEND_PORT=${BUYLIST_LOCAL_FRONTEND_PORT:-8080}
PROMETHEUS_PORT=${BUYLIST_LOCAL_PROMETHEUS_PORT:-9090}
PARTITIONS=${BUYLIST_LOCAL_PARTITIONS:-12}

# An existing Kafka or MongoDB replaces the local one when its address is given.
EXTERNAL_KAFKA=${BUYLIST_KAFKA_BOOTSTRAP:-}
EXTERNAL_MONGO=${BUYLIST_MONGODB_URI:-}
KAFKA_BOOTSTRAP=${EXTERNAL_KAFKA:-127.0.0.1:$KAFKA_PORT}
MONGODB_URI=${EXTERNAL_MONGO:-mongodb://127.0.0.1:$MONGO_PORT/}

SUPERVISOR_CONF="$BUYLIST_STATE/supervisord.conf"
SUPERVISOR_SOCK="$BUYLIST_STATE/supervisord.sock"
LOGS="$BUYLIST_STATE/logs"
ctl() { "$BUYLIST_VENV/bin/supervisorctl" -c "$SUPERVISOR_CONF" "$@"; }
supervisor_running() { [[ -S $SUPERVISOR_SOCK ]] && ctl pid >/dev/null 2>&1; }

infra_programs() {
  [[ -n $EXTERNAL_KAFKA ]] || echo kafka
  [[ -n $EXTERNAL_MONGO ]] || echo ferretdb
}
APP_PROGRAMS=(customer-facing customer-management-api customer-management-worker user-buy-frontend prometheus)

program() {  # program <name> <command> [environment]
  cat <<INI

[program:$1]
command=$2
directory=$BUYLIST_ROOT
environment=${3:-BUYLIST_LOG_FORMAT="json"}
autostart=false
autorestart=true
startsecs=2
startretries=100
stopsignal=TERM
stopwaitsecs=30
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$LOGS/$1.log
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=3
INI
}

service_env() {  # service_env <metrics-dir-name> [extra KEY="value" pairs]
  local env="BUYLIST_LOG_FORMAT=\"json\",BUYLIST_KAFKA_BOOTSTRAP=\"$KAFKA_BOOTSTRAP\",BUYLIST_MONGODB_URI=\"$MONGODB_URI\""
  env+=",BUYLIST_MANAGEMENT_URL=\"http://127.0.0.1:$API_PORT\""
  [[ -z $1 ]] || env+=",PROMETHEUS_MULTIPROC_DIR=\"$BUYLIST_STATE/metrics/$1\""
  echo "$env${2:+,$2}"
}

write_config() {
  mkdir -p "$LOGS" "$BUYLIST_STATE/metrics"
  local bin="$BUYLIST_VENV/bin/buylist" scripts="$BUYLIST_ROOT/scripts"
  {
    cat <<INI
; Written by scripts/platform.sh on every 'make up'; edit the script, not this file.
[unix_http_server]
file=$SUPERVISOR_SOCK

[supervisord]
logfile=$LOGS/supervisord.log
pidfile=$BUYLIST_STATE/supervisord.pid
childlogdir=$LOGS

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$SUPERVISOR_SOCK
INI
    [[ -n $EXTERNAL_KAFKA ]] || program kafka "$scripts/run-kafka.sh $BUYLIST_STATE/kafka $KAFKA_PORT $KAFKA_CONTROLLER_PORT"
    [[ -n $EXTERNAL_MONGO ]] || program ferretdb "$scripts/run-ferretdb.sh $BUYLIST_STATE/ferretdb $MONGO_PORT"
    program customer-facing "$bin customer-facing" "$(service_env customer-facing "BUYLIST_PORT=\"$FACING_PORT\"")"
    program customer-management-api "$bin customer-management-api" \
      "$(service_env customer-management-api "BUYLIST_PORT=\"$API_PORT\"")"
    program customer-management-worker "$bin customer-management-worker" \
      "$(service_env "" "BUYLIST_PORT=\"$WORKER_PORT\"")"
    program user-buy-frontend "$scripts/run-frontend.sh $BUYLIST_STATE/frontend $FRONTEND_PORT http://127.0.0.1:$FACING_PORT"
    program prometheus "$scripts/run-prometheus.sh $BUYLIST_STATE/prometheus $PROMETHEUS_PORT 127.0.0.1:$FACING_PORT 127.0.0.1:$API_PORT 127.0.0.1:$WORKER_PORT"
  } >"$SUPERVISOR_CONF"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_ports_free() {
  local busy=()
  local -A ports=([customer-facing]=$FACING_PORT [customer-management-api]=$API_PORT
    [customer-management-worker]=$WORKER_PORT [user-buy-frontend]=$FRONTEND_PORT [prometheus]=$PROMETHEUS_PORT)
  [[ -n $EXTERNAL_KAFKA ]] || ports[kafka]=$KAFKA_PORT
  [[ -n $EXTERNAL_MONGO ]] || ports[ferretdb]=$MONGO_PORT
  for name in "${!ports[@]}"; do
    if port_busy "${ports[$name]}"; then busy+=("$name needs port ${ports[$name]}"); fi
  done
  ((${#busy[@]} == 0)) || die "ports already in use (another program listens): ${busy[*]}. Stop it, or set BUYLIST_LOCAL_<NAME>_PORT (see README)."
}

wait_for() {  # wait_for <label> <seconds> <command...>
  local label=$1 limit=$2; shift 2
  local start=$SECONDS
  printf '    waiting for %s ' "$label"
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - start > limit)); then
      printf ' gave up after %ss\n' "$limit"
      return 1
    fi
    printf '.'
    sleep 1
  done
  printf ' up (%ss)\n' "$((SECONDS - start))"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

fail_with_logs() {
  warn "$1 did not come up; last lines of its log ($LOGS/$1.log):"
  tail -n 30 "$LOGS/$1.log" >&2 || true
  exit 1
}

cmd_up() {
  local started=$SECONDS
  command -v curl >/dev/null || die "curl is missing (Debian: apt-get install curl)."
  "$BUYLIST_ROOT/scripts/install.sh" all
  say "starting the platform (state in $BUYLIST_STATE)"
  if supervisor_running; then
    ctl stop all >/dev/null || true
    ctl shutdown >/dev/null || true
    while supervisor_running; do sleep 0.5; done
  fi
  check_ports_free
  write_config
  "$BUYLIST_VENV/bin/supervisord" -c "$SUPERVISOR_CONF"
  wait_for supervisord 20 ctl pid

  local infra; mapfile -t infra < <(infra_programs)
  ((${#infra[@]} == 0)) || ctl start "${infra[@]}" >/dev/null
  if [[ -z $EXTERNAL_KAFKA ]]; then
    wait_for "kafka on :$KAFKA_PORT" 90 port_busy "$KAFKA_PORT" || fail_with_logs kafka
  fi
  if [[ -z $EXTERNAL_MONGO ]]; then
    wait_for "ferretdb on :$MONGO_PORT" 60 port_busy "$MONGO_PORT" || fail_with_logs ferretdb
  fi
  say "creating topics (purchases: $PARTITIONS partitions; purchases.dlq) if missing"
  "$BUYLIST_VENV/bin/python" -m buylist.admin create-topics --bootstrap "$KAFKA_BOOTSTRAP" --partitions "$PARTITIONS" \
    | sed 's/^/    /'

  ctl start "${APP_PROGRAMS[@]}" >/dev/null || true
  wait_for "customer-management-api" 60 http_ok "http://127.0.0.1:$API_PORT/ready" || fail_with_logs customer-management-api
  wait_for "customer-management-worker" 60 http_ok "http://127.0.0.1:$WORKER_PORT/ready" || fail_with_logs customer-management-worker
  wait_for "customer-facing" 60 http_ok "http://127.0.0.1:$FACING_PORT/ready" || fail_with_logs customer-facing
  wait_for "user-buy-frontend" 30 http_ok "http://127.0.0.1:$FRONTEND_PORT/" || fail_with_logs user-buy-frontend
  wait_for "prometheus" 30 http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" || fail_with_logs prometheus

  say "buylist is up ($((SECONDS - started))s)"
  cat <<TXT

    UI                        http://127.0.0.1:$FRONTEND_PORT
    customer-facing API       http://127.0.0.1:$FACING_PORT   (POST /buy, GET /getAllUserBuys/<userid>, /openapi.json)
    customer-management-api   http://127.0.0.1:$API_PORT   (GET /purchases/<userid>)
    worker probes & metrics   http://127.0.0.1:$WORKER_PORT/metrics
    Prometheus                http://127.0.0.1:$PROMETHEUS_PORT
    Kafka bootstrap           $KAFKA_BOOTSTRAP
    MongoDB                   $MONGODB_URI

    make status | make logs | make down (keeps data) | make clean (wipes data)
TXT
}

cmd_down() {
  if supervisor_running; then
    say "stopping the platform (data kept in $BUYLIST_STATE)"
    ctl stop "${APP_PROGRAMS[@]}" >/dev/null || true
    ctl stop all >/dev/null || true
    ctl shutdown >/dev/null || true
    while supervisor_running; do sleep 0.5; done
    say "stopped"
  else
    say "the platform is not running"
  fi
}

cmd_status() {
  if ! supervisor_running; then
    say "the platform is not running (make up starts it)"
    return 0
  fi
  ctl status || true
  echo
  local name url
  for pair in "customer-facing=$FACING_PORT" "customer-management-api=$API_PORT" "customer-management-worker=$WORKER_PORT"; do
    name=${pair%%=*}
    url="http://127.0.0.1:${pair#*=}/ready"
    if http_ok "$url"; then printf '  %-28s ready\n' "$name"; else printf '  %-28s NOT ready (%s)\n' "$name" "$url"; fi
  done
}

cmd_logs() {
  [[ -d $LOGS ]] || die "no logs yet (make up first)"
  if [[ -n ${1:-} ]]; then
    [[ -f $LOGS/$1.log ]] || die "no log named $1; have: $(find "$LOGS" -name '*.log' -printf '%f ' | sed 's/\.log//g')"
    exec tail -n 100 -F "$LOGS/$1.log"
  fi
  exec tail -n 20 -F "$LOGS"/*.log
}

cmd_clean() {
  cmd_down
  say "removing $BUYLIST_STATE (all purchases, topics and metrics)"
  rm -rf "$BUYLIST_STATE"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "${1:-}" ;;
  clean) cmd_clean ;;
  *) die "usage: platform.sh up|down|status|logs [name]|clean" ;;
esac
