#!/usr/bin/env bash
# Starts a local Strata cluster on loopback, each role its own process, from config/cluster/:
# 2 distributors, 3 ingesters (replication factor 3), a querier, a compactor and a
# metrics-generator. Prints the
# endpoints, waits for Ctrl-C, then stops every process with SIGTERM (ingesters flush their
# blocks) and waits for them.
#
#   BIN=target/release  (where the binaries are; `make run-cluster` builds them)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
CONF=config/cluster
LOGS=data/cluster/logs
mkdir -p "$LOGS"

pids=()
names=()
start() { # name binary config
  "$BIN/$2" --config "$CONF/$3" >"$LOGS/$1.log" 2>&1 &
  pids+=($!)
  names+=("$1")
}
stop_all() {
  trap - INT TERM
  echo
  echo "stopping (SIGTERM; ingesters flush their blocks)..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}" 2>/dev/null; then echo "  ${names[$i]} stopped"; else echo "  ${names[$i]} exited with $?"; fi
  done
  exit 0
}
trap stop_all INT TERM

for i in 1 2 3; do start "ingester-$i" strata-ingester "ingester-$i.yaml"; done
start generator strata-metrics-generator generator.yaml
for i in 1 2; do start "distributor-$i" strata-distributor "distributor-$i.yaml"; done
start querier strata-querier querier.yaml
if [[ -f $CONF/compactor.yaml && -x $BIN/strata-compactor ]]; then
  start compactor strata-compactor compactor.yaml
fi

ready() { curl -fsS -o /dev/null "http://$1/ready" 2>/dev/null; }
wait_ready() { # name addr
  for _ in $(seq 1 300); do
    if ready "$2"; then return 0; fi
    for i in "${!pids[@]}"; do
      if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        echo "${names[$i]} exited; last lines of $LOGS/${names[$i]}.log:" >&2
        tail -n 20 "$LOGS/${names[$i]}.log" >&2
        stop_all
      fi
    done
    sleep 0.2
  done
  echo "$1 not ready at http://$2/ready after 60s" >&2
  stop_all
}
for i in 1 2 3; do wait_ready "ingester-$i" "127.0.0.1:321$i"; done
wait_ready generator 127.0.0.1:3230
wait_ready distributor-1 127.0.0.1:3201
wait_ready distributor-2 127.0.0.1:3202
wait_ready querier 127.0.0.1:3200
if [[ -f $CONF/compactor.yaml && -x $BIN/strata-compactor ]]; then wait_ready compactor 127.0.0.1:3220; fi

cat <<EOT
Strata cluster is up (logs in $LOGS/, data in data/cluster/):
  OTLP gRPC       127.0.0.1:4317 (distributor-1)   127.0.0.1:4327 (distributor-2)
  OTLP HTTP       127.0.0.1:4318 (distributor-1)   127.0.0.1:4328 (distributor-2)
  Query API       http://127.0.0.1:3200            (querier; Grafana's Tempo data source)
  Ingester gRPC   127.0.0.1:9095 9096 9097         (replication factor 3)
  Span metrics    http://127.0.0.1:3230/metrics/generator (metrics-generator; scrape it)
  /ready /metrics distributors :3201 :3202, ingesters :3211 :3212 :3213, querier :3200, compactor :3220, generator :3230
Try: ./$BIN/strata loadgen --endpoint http://127.0.0.1:4317,http://127.0.0.1:4327 --duration 10s
Ctrl-C stops the cluster.
EOT
while true; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "${names[$i]} exited unexpectedly; see $LOGS/${names[$i]}.log" >&2
      stop_all
    fi
  done
  sleep 1
done
