#!/usr/bin/env bash
# Starts a local Strata cluster on loopback, each role its own process, from config/cluster/:
# 2 distributors, 3 ingesters (replication factor 3), a querier, a compactor and a
# metrics-generator. Prints the endpoints and supervises the processes: one that dies (a crash,
# `kill -9`) is started again, as Kubernetes would, after a backoff (1 s, doubling to 30 s;
# back to 1 s once it has run for a minute), while the others keep serving; each restart is
# announced. Ctrl-C (or SIGTERM) stops every process with SIGTERM (ingesters flush their
# blocks) and waits for them.
#
#   BIN=target/release       where the binaries are (`make run-cluster` builds them)
#   CLUSTER_WORKDIR=<dir>    where data/cluster/ (WAL, blocks, logs, pid files) goes; default
#                            the repository root
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release}
[[ $BIN == /* ]] || BIN=$ROOT/$BIN
CONF=$ROOT/config/cluster
cd "${CLUSTER_WORKDIR:-$ROOT}"
LOGS=data/cluster/logs
mkdir -p "$LOGS"

names=()
declare -A pid cmd started backoff due
start() { # name binary config
  cmd[$1]="$BIN/$2 --config $CONF/$3"
  names+=("$1")
  backoff[$1]=1
  launch "$1"
}
launch() { # name
  # shellcheck disable=SC2086
  ${cmd[$1]} >>"$LOGS/$1.log" 2>&1 &
  pid[$1]=$!
  started[$1]=$SECONDS
  echo "${pid[$1]}" >"$LOGS/$1.pid"
}
stopping=0
stop_all() {
  trap - INT TERM
  stopping=1
  echo
  echo "stopping (SIGTERM; ingesters flush their blocks)..."
  for n in "${names[@]}"; do [[ -n ${pid[$n]:-} ]] && kill -TERM "${pid[$n]}" 2>/dev/null || true; done
  for n in "${names[@]}"; do
    [[ -n ${pid[$n]:-} ]] || continue
    if wait "${pid[$n]}" 2>/dev/null; then echo "  $n stopped"; else echo "  $n exited with $?"; fi
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
    if ! kill -0 "${pid[$1]}" 2>/dev/null; then
      echo "$1 exited during start; last lines of $LOGS/$1.log:" >&2
      tail -n 20 "$LOGS/$1.log" >&2
      stop_all
    fi
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
if [[ -n ${pid[compactor]:-} ]]; then wait_ready compactor 127.0.0.1:3220; fi

cat <<EOT
Strata cluster is up (logs in $LOGS/, data in data/cluster/):
  OTLP gRPC       127.0.0.1:4317 (distributor-1)   127.0.0.1:4327 (distributor-2)
  OTLP HTTP       127.0.0.1:4318 (distributor-1)   127.0.0.1:4328 (distributor-2)
  Query API       http://127.0.0.1:3200            (querier; Grafana's Tempo data source)
  Ingester gRPC   127.0.0.1:9095 9096 9097         (replication factor 3)
  Span metrics    http://127.0.0.1:3230/metrics/generator (metrics-generator; scrape it)
  /ready /metrics distributors :3201 :3202, ingesters :3211 :3212 :3213, querier :3200, compactor :3220, generator :3230
A process that dies is restarted (with backoff); the others keep serving.
Try: ./$(realpath --relative-to="$ROOT" "$BIN")/strata loadgen --endpoint http://127.0.0.1:4317,http://127.0.0.1:4327 --duration 10s
Ctrl-C stops the cluster.
EOT

# Supervise: a dead process is started again after its backoff.
while [[ $stopping == 0 ]]; do
  for n in "${names[@]}"; do
    if [[ -n ${pid[$n]} ]] && ! kill -0 "${pid[$n]}" 2>/dev/null; then
      wait "${pid[$n]}" 2>/dev/null && rc=0 || rc=$?
      ran=$((SECONDS - started[$n]))
      (( ran >= 60 )) && backoff[$n]=1
      echo "$(date +%T) $n exited (status $rc) after ${ran}s; restarting in ${backoff[$n]}s (log: $LOGS/$n.log)"
      due[$n]=$((SECONDS + backoff[$n]))
      backoff[$n]=$(( backoff[$n] * 2 > 30 ? 30 : backoff[$n] * 2 ))
      pid[$n]=""
    fi
    if [[ -z ${pid[$n]} ]] && (( SECONDS >= due[$n] )); then
      launch "$n"
      echo "$(date +%T) $n restarted (pid ${pid[$n]})"
    fi
  done
  sleep 0.5
done
