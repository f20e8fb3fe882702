#!/bin/sh
# Create the Kafka topics of SPEC 2.2 explicitly (the broker runs with
# auto.create.topics.enable=false) and check that every topic has the expected partition count.
# Idempotent: existing topics are left alone (--if-not-exists), but a topic with a different
# partition count fails the run loudly instead of being "fixed" (adding partitions would move
# keys to other partitions and break per-aggregate ordering).
#
# Runs in the apache/kafka image (POSIX sh, /opt/kafka/bin). Used by:
#   * docker-compose.yml, service `kafka-init` (mounted read-only)
#   * deploy/k8s/base/kafka-topics (Job `kafka-topics`, via a generated ConfigMap)
#
# Environment:
#   BOOTSTRAP_SERVERS    broker list                             (default kafka:9092)
#   REPLICATION_FACTOR   replicas per partition                  (default 1; production 3)
#   MIN_INSYNC_REPLICAS  min.insync.replicas of every topic      (default 1; production 2)
#   RETENTION_MS         retention.ms of every topic             (default -1 = keep forever:
#                        projections are rebuilt from the topics, SPEC 6)
#   WAIT_SECONDS         how long to wait for the broker         (default 180)
#   KAFKA_BIN            Kafka CLI directory                     (default /opt/kafka/bin)
set -eu

BOOTSTRAP="${BOOTSTRAP_SERVERS:-kafka:9092}"
RF="${REPLICATION_FACTOR:-1}"
MIN_ISR="${MIN_INSYNC_REPLICAS:-1}"
RETENTION="${RETENTION_MS:--1}"
WAIT="${WAIT_SECONDS:-180}"
BIN="${KAFKA_BIN:-/opt/kafka/bin}"
# the Kafka scripts write their tool logs under LOG_DIR; keep it writable on a read-only root
export LOG_DIR="${LOG_DIR:-/tmp/kafka-tools-logs}"

# name  partitions     (explicit; a new producer adds its topic and its .dlq here)
TOPICS='
forum.events             6
ideas.events             6
reputation.events        6
gatherings.events        6
media.events             6
notifications.events     6
search.events            6
analytics.events         6
forum.events.dlq         1
ideas.events.dlq         1
reputation.events.dlq    1
gatherings.events.dlq    1
media.events.dlq         1
notifications.events.dlq 1
search.events.dlq        1
analytics.events.dlq     1
'

topics() { "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "$@"; }

echo "waiting for Kafka at $BOOTSTRAP (up to ${WAIT}s)"
deadline=$(( $(date +%s) + WAIT ))
until timeout 30 "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "Kafka at $BOOTSTRAP is not reachable after ${WAIT}s" >&2
    exit 1
  fi
  sleep 3
done

while read -r name partitions; do
  [ -n "$name" ] || continue
  echo "topic $name: partitions=$partitions replication-factor=$RF"
  topics --create --if-not-exists --topic "$name" \
    --partitions "$partitions" --replication-factor "$RF" \
    --config "min.insync.replicas=$MIN_ISR" --config "retention.ms=$RETENTION"
done <<EOF
$TOPICS
EOF

described="$(topics --describe --exclude-internal)"
failed=0
while read -r name partitions; do
  [ -n "$name" ] || continue
  actual="$(printf '%s\n' "$described" \
    | awk -v t="$name" '$1 == "Topic:" && $2 == t { for (i = 1; i < NF; i++) if ($i == "PartitionCount:") print $(i + 1) }' \
    | head -n 1)"
  if [ "$actual" != "$partitions" ]; then
    echo "topic $name has ${actual:-no} partitions, expected $partitions" >&2
    failed=1
  fi
done <<EOF
$TOPICS
EOF
[ "$failed" -eq 0 ] || exit 1
echo "all topics present with the expected partition counts"
