#!/usr/bin/env bash
# Cluster ingest benchmark (`make bench-cluster`, part of `make bench`).
#
# Same machine, same run, same load generator settings:
#   1. `strata run` (every role in one process)
#   2. the local cluster: 3 `strata-ingester` (replication factor 3), 2 `strata-distributor`,
#      1 `strata-querier`, each its own process, talking gRPC on loopback
# Each gets `strata loadgen --protocol grpc` for BENCH_CLUSTER_SECONDS; the accepted spans/s and
# the CPU seconds used by the Strata processes are recorded in the `cluster-bench` section of
# docs/BENCHMARKS.md.
#
# Both runs also record loadgen's per-second accepted timeline and its min/median/max after
# warm-up, so blackouts (seconds with nothing accepted) show at a glance.
#
# The cluster starts by accepting a burst at several times its sustainable rate while no ingester
# is past half its `max_unflushed_bytes`, then settles as the RF 3 copies of that burst are
# written; the timeline summary leaves out the first BENCH_CLUSTER_WARMUP seconds so it shows the
# steady state, not the settling (measured: about 30 s on 2 cores).
#
# Environment: BENCH_CLUSTER_SECONDS (default 120), BENCH_CLUSTER_WARMUP (default 30),
# BENCH_CLUSTER_CONCURRENCY (default 16), BENCH_SKIP_BUILD=1, BENCH_OUT (default
# docs/BENCHMARKS.md), JOBS (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
source scripts/bench-lib.sh

SECONDS_RUN=${BENCH_CLUSTER_SECONDS:-120}
WARMUP=${BENCH_CLUSTER_WARMUP:-30}
CONC=${BENCH_CLUSTER_CONCURRENCY:-16}
OUT=${BENCH_OUT:-docs/BENCHMARKS.md}
JOBS=${JOBS:-2}
BIN=$ROOT/target/release
log() { printf 'cluster-bench: %s\n' "$*" >&2; }

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building release binaries"
    cargo build --release -j"$JOBS" -p strata-cli -p strata-distributor -p strata-ingester -p strata-querier
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-cluster-bench.XXXXXX")
PIDS=()
stop_all() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
cleanup() { local rc=$?; stop_all; rm -rf "$TMP"; exit "$rc"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() {
    for _ in $(seq 1 600); do
        curl -fsS -o /dev/null "http://$1/ready" 2>/dev/null && return 0
        sleep 0.1
    done
    log "not ready: $1"; return 1
}
# Sum of user+system CPU seconds of the given pids (from /proc, before they exit).
cpu_seconds() {
    local tck total=0 p
    tck=$(getconf CLK_TCK)
    for p in "$@"; do
        [[ -r /proc/$p/stat ]] || continue
        total=$(awk -v t="$total" -v tck="$tck" '{ sub(/^.*\) /, ""); print t + ($12 + $13) / tck }' "/proc/$p/stat")
    done
    echo "$total"
}
loadgen() { # endpoints
    "$BIN/strata" loadgen --protocol grpc --endpoint "$1" --duration "${SECONDS_RUN}s" \
        --warmup "${WARMUP}s" --concurrency "$CONC" --quiet --json
}
field() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p" | head -n1; }

# --- 1. one process -----------------------------------------------------------------------
mkdir -p "$TMP/single"
cat >"$TMP/single/config.yaml" <<EOF
server: { http_listen_address: 127.0.0.1:13200, log_level: warn }
distributor: { receivers: { otlp: { grpc_endpoint: 127.0.0.1:14317, http_endpoint: "" } } }
ingester: { wal: { path: $TMP/single/wal } }
storage: { local: { path: $TMP/single/blocks } }
overrides: { defaults: { ingestion: { rate_limit_bytes: 0, max_traces_per_user: 0 } } }
EOF
"$BIN/strata" run --config "$TMP/single/config.yaml" >"$TMP/single.log" 2>&1 &
PIDS+=($!)
wait_ready 127.0.0.1:13200
log "single process: loadgen ${SECONDS_RUN}s"
single_json=$(loadgen http://127.0.0.1:14317 | tr -d '\n')
printf '%s\n' "$single_json" >"$TMP/single.json"
single_cpu=$(cpu_seconds "${PIDS[@]}")
stop_all

# --- 2. cluster -----------------------------------------------------------------------------
members="127.0.0.1:19095, 127.0.0.1:19096, 127.0.0.1:19097"
for i in 1 2 3; do
    cat >"$TMP/ingester-$i.yaml" <<EOF
server: { http_listen_address: 127.0.0.1:1321$i, grpc_listen_address: 127.0.0.1:1909$((4 + i)), log_level: warn }
ingester: { wal: { path: $TMP/ingester-$i/wal } }
storage: { local: { path: $TMP/blocks } }
overrides: { defaults: { ingestion: { rate_limit_bytes: 0, max_traces_per_user: 0 } } }
EOF
    "$BIN/strata-ingester" --config "$TMP/ingester-$i.yaml" >"$TMP/ingester-$i.log" 2>&1 &
    PIDS+=($!)
done
for i in 1 2; do
    cat >"$TMP/distributor-$i.yaml" <<EOF
server: { http_listen_address: 127.0.0.1:1320$i, log_level: warn }
distributor: { receivers: { otlp: { grpc_endpoint: 127.0.0.1:1431$((6 + i)), http_endpoint: "" } } }
ring: { replication_factor: 3, members: [$members] }
overrides: { defaults: { ingestion: { rate_limit_bytes: 0, max_traces_per_user: 0 } } }
EOF
    "$BIN/strata-distributor" --config "$TMP/distributor-$i.yaml" >"$TMP/distributor-$i.log" 2>&1 &
    PIDS+=($!)
done
cat >"$TMP/querier.yaml" <<EOF
server: { http_listen_address: 127.0.0.1:13200, log_level: warn }
ring: { replication_factor: 3, members: [$members] }
storage: { local: { path: $TMP/blocks } }
EOF
"$BIN/strata-querier" --config "$TMP/querier.yaml" >"$TMP/querier.log" 2>&1 &
PIDS+=($!)
for a in 127.0.0.1:13211 127.0.0.1:13212 127.0.0.1:13213 127.0.0.1:13201 127.0.0.1:13202 127.0.0.1:13200; do
    wait_ready "$a"
done
log "cluster: loadgen ${SECONDS_RUN}s over two distributors"
cluster_json=$(loadgen http://127.0.0.1:14317,http://127.0.0.1:14318 | tr -d '\n')
printf '%s\n' "$cluster_json" >"$TMP/cluster.json"
cluster_cpu=$(cpu_seconds "${PIDS[@]}")
stop_all
# What failed, when anything did: loadgen's error kinds and the servers' warnings, kept in the
# report (the logs go with $TMP).
failures() { # json-file logs...
    local json=$1
    shift
    [[ $(field requests_failed <"$json") =~ ^0?$ ]] && return 0
    printf '\nFailed requests in %s, by kind: `%s`. Warnings and errors of its servers (count, first 200 characters):\n\n```\n' \
        "$(basename "$json" .json)" "$(grep -o '"errors": *{[^}]*}' "$json" | head -n 1)"
    grep -h -iE 'level"?[=:] ?"?(warn|error)' "$@" 2>/dev/null | sed -E 's/^(ts=|\{"ts":)[^ ,]+[ ,]//' \
        | cut -c1-200 | sort | uniq -c | sort -rn | head -n 12
    printf '```\n'
}
FAILURES="$(failures "$TMP/single.json" "$TMP/single.log")$(failures "$TMP/cluster.json" "$TMP"/ingester-*.log "$TMP"/distributor-*.log "$TMP/querier.log")"

s_rate=$(field accepted_spans_per_second <<<"$single_json")
c_rate=$(field accepted_spans_per_second <<<"$cluster_json")
s_p99=$(sed -n 's/.*"p99": *\([0-9.]*\).*/\1/p' <<<"$single_json")
c_p99=$(sed -n 's/.*"p99": *\([0-9.]*\).*/\1/p' <<<"$cluster_json")
s_fail=$(field requests_failed <<<"$single_json")
c_fail=$(field requests_failed <<<"$cluster_json")
ratio=$(awk -v a="$c_rate" -v b="$s_rate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')
s_cps=$(awk -v r="$s_rate" -v c="$single_cpu" -v t="$SECONDS_RUN" 'BEGIN { if (c > 0) printf "%.0f", r * t / c; else print "?" }')
c_cps=$(awk -v r="$c_rate" -v c="$cluster_cpu" -v t="$SECONDS_RUN" 'BEGIN { if (c > 0) printf "%.0f", r * t / c; else print "?" }')

SECTION=$(mktemp)
cat >"$SECTION" <<EOF
<!-- cluster-bench:start -->
## Ingest: one process vs. the local cluster

Command: \`make bench-cluster\` (\`scripts/cluster_bench.sh\`), revision $REVISION, on $CPU,
$NPROC cores, $MEM_GIB GiB, $KERNEL, $RUSTC. Load: \`strata loadgen --protocol grpc
--concurrency $CONC --duration ${SECONDS_RUN}s --warmup ${WARMUP}s\` (default payload shape: 50 traces × 10 spans per
request), on the same machine as the servers. A refused push is retried no sooner than the
server's \`RetryInfo\` delay (\`--retry-after honor\`, the default, as OTLP exporters do). WAL
fsync before every acknowledgement in both; per-tenant rate and live-trace limits off in both.

| Setup | Accepted spans/s | p99 push latency (ms) | Failed requests | Strata CPU seconds | Spans per CPU second |
|---|---|---|---|---|---|
| \`strata run\` (one process) | $s_rate | $s_p99 | $s_fail | $single_cpu | $s_cps |
| Cluster: 2 distributors, 3 ingesters (RF 3), querier | $c_rate | $c_p99 | $c_fail | $cluster_cpu | $c_cps |
$FAILURES

Accepted spans per second (loadgen's timeline):

- One process: $(timeline_points "$TMP/single.json")
- One process, $(timeline_summary "$TMP/single.json").
- Cluster: $(timeline_points "$TMP/cluster.json")
- Cluster, $(timeline_summary "$TMP/cluster.json").

Cluster / one process: **${ratio}×** accepted spans/s. With replication factor 3 every span is
encoded, sent over gRPC, written and fsynced three times, and the six processes plus the load
generator share the machine's $NPROC cores, so on one small machine the cluster is expected to be
slower; it buys surviving the loss of an ingester and scaling out across machines.
<!-- cluster-bench:end -->
EOF
replace_section cluster-bench "$SECTION" "$OUT"
rm -f "$SECTION"
log "cluster ${c_rate} spans/s vs one process ${s_rate} spans/s (${ratio}x); written to $OUT"
log "one process: $(timeline_points "$TMP/single.json")"
log "one process, $(timeline_summary "$TMP/single.json")"
log "cluster: $(timeline_points "$TMP/cluster.json")"
log "cluster, $(timeline_summary "$TMP/cluster.json")"
[[ -z $FAILURES ]] || log "failures:$FAILURES"
