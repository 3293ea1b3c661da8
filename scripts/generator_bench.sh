#!/usr/bin/env bash
# Metrics-generator benchmark (`make bench-generator`, part of `make bench`).
#
# 1. Processing speed on decoded spans, one core (the `generator_throughput` example): span
#    metrics alone and with service graphs, next to prost-decoding the same traces in the same
#    run (the baseline: what any backend pays per span before doing anything with it), and the
#    registry's resident memory per 10 000 active series.
# 2. End to end: `strata run` under the same OTLP/gRPC load twice, the generator off (no
#    processors) and on (span metrics + service graphs for every span); accepted spans per
#    server CPU-second of each, and on ÷ off.
# The results replace the `generator-bench` section of docs/BENCHMARKS.md.
#
# Environment (all optional):
#   GEN_BENCH_SECONDS        each end-to-end run                 (default 20)
#   GEN_BENCH_CONCURRENCY    gRPC requests in flight             (default 16)
#   BENCH_SKIP_BUILD=1       use the existing release binaries
#   BENCH_OUT                output file                         (default docs/BENCHMARKS.md)
#   JOBS                     cargo -j                            (default 2)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SECONDS_RUN=${GEN_BENCH_SECONDS:-20}
CONCURRENCY=${GEN_BENCH_CONCURRENCY:-16}
OUT=${BENCH_OUT:-docs/BENCHMARKS.md}
JOBS=${JOBS:-2}
BIN="$ROOT/target/release/strata"
EXAMPLE="$ROOT/target/release/examples/generator_throughput"

log() { printf 'generator-bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building release binaries"
    cargo build --release -j"$JOBS" -p strata-cli
    cargo build --release -j"$JOBS" -p strata-metrics-generator --example generator_throughput
fi
[[ -x $BIN && -x $EXAMPLE ]] || die "release binaries missing (build them or unset BENCH_SKIP_BUILD)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-genbench.XXXXXX")
SERVER_PID=""
cleanup() {
    local rc=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. processing ---------------------------------------------------------------------------
log "processing speed on decoded spans"
"$EXAMPLE" 10000000 10 | tee "$TMP/example.txt" >&2
result() { awk -v k="$1" '$1 == "result" && $2 == k {print $3}' "$TMP/example.txt"; }
DECODE=$(result decode_spans_per_second)
SM=$(result span-metrics_spans_per_second)
BOTH=$(result span-metrics+service-graphs_spans_per_second)
MEM=$(result bytes_per_10k_series)

# --- 2. end to end ---------------------------------------------------------------------------
# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
ingest_run off "    metrics_generator:\n      processors: []"
OFF=$PER_CPU; OFF_CPU=$CPU_S
ingest_run on "    metrics_generator:\n      processors: [span-metrics, service-graphs]"
ON=$PER_CPU; ON_CPU=$CPU_S; ON_SERIES=$SERIES

# --- report ----------------------------------------------------------------------------------
fmt() { fmt_thousands "$1"; }
SECTION="$TMP/section.md"
{
    echo "<!-- generator-bench:start -->"
    echo "## Metrics-generator (\`make bench-generator\`)"
    echo
    echo "Machine: $CPU, $NPROC cores, $MEM_GIB GiB, $KERNEL; $RUSTC; revision $REVISION; $(date -u +%Y-%m-%d)."
    echo
    echo "Processing on decoded spans, one core (\`generator_throughput\` example: 20 services, 50 span names, every kind and status, two dimensions, ~1 000 label sets), next to the baseline of the same run:"
    echo
    echo "| work on the same traces | spans/s, one core | ÷ prost decode |"
    echo "|---|---:|---:|"
    echo "| prost decode of the traces (baseline) | $(fmt "$DECODE") | 1.00 |"
    echo "| span metrics | $(fmt "$SM") | $(ratio "$SM" "$DECODE") |"
    echo "| span metrics + service graphs | $(fmt "$BOTH") | $(ratio "$BOTH" "$DECODE") |"
    echo
    echo "Memory: $(awk -v b="$MEM" 'BEGIN {printf "%.2f", b / 1048576}') MiB resident per 10 000 active series (span-metrics label sets of 19 series each)."
    echo
    echo "End to end, \`strata run\` under \`strata loadgen --protocol grpc --concurrency $CONCURRENCY\` for ${SECONDS_RUN}s per run (server and load generator share the cores):"
    echo
    echo "| generator | server CPU-s | spans per server CPU-second | ÷ off |"
    echo "|---|---:|---:|---:|"
    echo "| off | $OFF_CPU | $(fmt "$OFF") | 1.00 |"
    echo "| span metrics + service graphs ($ON_SERIES series) | $ON_CPU | $(fmt "$ON") | $(ratio "$ON" "$OFF") |"
    echo "<!-- generator-bench:end -->"
} >"$SECTION"
replace_section generator-bench "$SECTION" "$OUT"
cat "$SECTION" >&2
