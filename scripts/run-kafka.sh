#!/usr/bin/env bash
# Run a single-node KRaft Kafka broker in the foreground: run-kafka.sh <data-dir> <port> <controller-port>
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_dir=${1:?usage: run-kafka.sh <data-dir> <port> <controller-port>}
port=${2:?port}
controller_port=${3:?controller port}
[[ -f $KAFKA_LIBS/.complete ]] || die "Kafka jars missing; run scripts/install.sh kafka"

mkdir -p "$data_dir/logs"
config="$data_dir/server.properties"
cat >"$config" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data_dir/logs
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS

java_opts=(
  -Xms256m "-Xmx${KAFKA_HEAP:-512m}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$BUYLIST_ROOT/scripts/kafka/log4j2.properties"
  -cp "$KAFKA_LIBS/*"
)

if [[ ! -f $data_dir/logs/meta.properties ]]; then
  echo "formatting KRaft storage in $data_dir/logs"
  java "${java_opts[@]}" kafka.tools.StorageTool format \
    --config "$config" --cluster-id "$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid)" --ignore-formatted
fi
exec java "${java_opts[@]}" kafka.Kafka "$config"
