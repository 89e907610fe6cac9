#!/usr/bin/env bash
# Serve the user-buy-frontend with nginx in the foreground: run-frontend.sh <state-dir> <port> <customer-facing-url>
# Binds 127.0.0.1 unless BUYLIST_FRONTEND_BIND names another address. Runs as root or not; logs: errors on
# stderr, one JSON line per request on stdout.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: run-frontend.sh <state-dir> <port> <customer-facing-url>"
state_dir=${1:?$usage}
port=${2:?$usage}
upstream=${3:?$usage}
upstream=${upstream%/}
bind=${BUYLIST_FRONTEND_BIND:-127.0.0.1}

if [[ ! $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
  die "port must be a number from 1 to 65535, got '$port'"
fi
# The URL is pasted into nginx's config: allow only scheme://host[:port], nothing nginx could read as syntax.
[[ $upstream =~ ^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]+)?$ ]] ||
  die "customer-facing URL must look like http://host:port (no path), got '$upstream'"
[[ $bind =~ ^([0-9.]+|\[[0-9A-Fa-f:.]+\]|\*)$ ]] || die "BUYLIST_FRONTEND_BIND must be an IP address or '*', got '$bind'"

nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[[ -x $nginx_bin ]] || die "nginx not found; run scripts/install.sh system"
conf_path=$("$nginx_bin" -V 2>&1 | sed -n 's/.*--conf-path=\([^ ]*\).*/\1/p')
mime_types="$(dirname "${conf_path:-/etc/nginx/nginx.conf}")/mime.types"
[[ -f $mime_types ]] || die "nginx's mime.types not found at $mime_types"

public="$BUYLIST_ROOT/apps/frontend/public"
template="$BUYLIST_ROOT/apps/frontend/nginx/default.conf.template"
# Paths go into nginx's config in double quotes, where these would still mean something.
nginx_safe() {
  [[ $1 != *[\\\"\$]* && $1 != *$'\n'* ]] || die "cannot use a path containing \\, \", \$ or a newline: $1"
}
nginx_safe "$state_dir"
mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)
mkdir -p "$state_dir/tmp"
for path in "$state_dir" "$public" "$mime_types"; do nginx_safe "$path"; done

# Substitute just these two: nginx's own $variables in the template must survive.
export BUYLIST_FRONTEND_PORT="$bind:$port" BUYLIST_CUSTOMER_FACING_URL="$upstream"
if command -v envsubst >/dev/null 2>&1; then
  # shellcheck disable=SC2016 # the single quotes are envsubst's list of variable names, not an expansion
  envsubst '${BUYLIST_FRONTEND_PORT} ${BUYLIST_CUSTOMER_FACING_URL}' <"$template" >"$state_dir/default.conf"
else
  python3 - "$template" "$state_dir/default.conf" <<'PY'
import os, sys
text = open(sys.argv[1], encoding="utf-8").read()
for name in ("BUYLIST_FRONTEND_PORT", "BUYLIST_CUSTOMER_FACING_URL"):
    text = text.replace("${" + name + "}", os.environ[name])
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY
fi

# As root, workers would drop to `nobody`, who may not read a checkout or a private state dir; run them as
# the invoking user instead, like any local dev server (the image runs nginx unprivileged).
user_line=""
[[ $(id -u) -ne 0 ]] || user_line="user root;"

cat >"$state_dir/nginx.conf" <<CONF
# Written by scripts/run-frontend.sh; edits are overwritten on the next start.
$user_line
worker_processes 1;
pid "$state_dir/nginx.pid";
error_log stderr warn;

events {
    worker_connections 1024;
}

http {
    include "$mime_types";
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65s;

    log_format buylist_json escape=json '{"time":"\$time_iso8601","request_id":"\$request_id",'
        '"remote_addr":"\$remote_addr","method":"\$request_method","uri":"\$request_uri","status":\$status,'
        '"bytes":\$body_bytes_sent,"duration_s":\$request_time,"upstream_status":"\$upstream_status",'
        '"upstream_duration_s":"\$upstream_response_time","user_agent":"\$http_user_agent"}';
    access_log /dev/stdout buylist_json;

    client_body_temp_path "$state_dir/tmp/client_body";
    proxy_temp_path "$state_dir/tmp/proxy";
    fastcgi_temp_path "$state_dir/tmp/fastcgi";
    uwsgi_temp_path "$state_dir/tmp/uwsgi";
    scgi_temp_path "$state_dir/tmp/scgi";

    root "$public";
    include "$state_dir/default.conf";
}
CONF

say "user-buy-frontend: http://$bind:$port serving $public, /api/* -> $upstream"
# nginx opens /dev/stdout by path, which a pipe or file of another user refuses (a root supervisor starting
# us as someone else): relay through a pipe of our own then.
if [[ ! -w /dev/stdout ]]; then
  exec > >(cat)
fi
exec "$nginx_bin" -p "$state_dir/" -e stderr -c "$state_dir/nginx.conf" -g 'daemon off;'
