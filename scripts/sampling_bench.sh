#!/usr/bin/env bash
# Sampling benchmark (`make bench-sampling`, part of `make bench`).
#
# 1. End to end: `strata run` under the same OTLP/gRPC load three times — no sampling, head
#    sampling at 10 %, and the seeds' tail policy (errors, slow > 1 s, 5 % of the rest; the
#    loadgen data has ~5 % error spans) — accepted spans per server CPU-second of each, next
#    to a one-thread prost decode of the same payloads in the same run (the baseline).
# 2. Memory (`sampling_memory` example): per million traces pending a tail decision, and per
#    million remembered decisions (resident and on disk).
# The results replace the `sampling-bench` section of docs/BENCHMARKS.md.
#
# Environment (all optional):
#   SAMPLING_BENCH_SECONDS   each end-to-end run                 (default 20)
#   SAMPLING_BENCH_CONCURRENCY gRPC requests in flight           (default 16)
#   BENCH_SKIP_BUILD=1       use the existing release binaries
#   BENCH_OUT                output file                         (default docs/BENCHMARKS.md)
#   JOBS                     cargo -j                            (default 2)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SECONDS_RUN=${SAMPLING_BENCH_SECONDS:-20}
CONCURRENCY=${SAMPLING_BENCH_CONCURRENCY:-16}
OUT=${BENCH_OUT:-docs/BENCHMARKS.md}
JOBS=${JOBS:-2}
BIN="$ROOT/target/release/strata"
EXAMPLE="$ROOT/target/release/examples/sampling_memory"

log() { printf 'sampling-bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building release binaries"
    cargo build --release -j"$JOBS" -p strata-cli
    cargo build --release -j"$JOBS" -p strata-ingester --example sampling_memory
fi
[[ -x $BIN && -x $EXAMPLE ]] || die "release binaries missing (build them or unset BENCH_SKIP_BUILD)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-sampbench.XXXXXX")
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

# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

# --- 1. end to end ---------------------------------------------------------------------------
"$BIN" loadgen --mode decode --duration 5s --json >"$TMP/decode.json"
# Per CPU-second of the decoding thread, the unit of the server's figures (per second of wall
# time from a loadgen that does not report it).
DECODE=$(grep -o '"decoded_spans_per_cpu_second":[0-9.]*' "$TMP/decode.json" | cut -d: -f2)
[[ -n $DECODE ]] || DECODE=$(grep -o '"decoded_spans_per_second_per_core":[0-9.]*' "$TMP/decode.json" | cut -d: -f2)
ingest_run none ""
NONE=$PER_CPU; NONE_CPU=$CPU_S
ingest_run head "    sampling:\n      head_ratio: 0.1"
HEAD=$PER_CPU; HEAD_CPU=$CPU_S
HEAD_OUT=$(awk '$1 ~ /^strata_distributor_spans_sampled_out_total/ {s += $2} END {print s + 0}' "$TMP/head.metrics")
HEAD_ACC=$ACCEPTED
TAIL_POLICY='    sampling:
      tail:
        policies:
          - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
          - { name: slow, type: latency, latency: { threshold_ms: 1000 } }
          - { name: rest, type: probabilistic, probabilistic: { sampling_percentage: 5 } }'
ingest_run tail "$TAIL_POLICY"
TAIL=$PER_CPU; TAIL_CPU=$CPU_S
TAIL_DROPPED=$(awk '$1 ~ /^strata_ingester_tail_sampling_spans_total/ && $1 ~ /decision="dropped"/ {s += $2} END {print s + 0}' "$TMP/tail.metrics")
TAIL_KEPT=$(awk '$1 ~ /^strata_ingester_tail_sampling_spans_total/ && $1 ~ /decision="kept"/ {s += $2} END {print s + 0}' "$TMP/tail.metrics")

# --- 2. memory -------------------------------------------------------------------------------
log "memory (sampling_memory example)"
"$EXAMPLE" | tee "$TMP/memory.txt" >&2
result() { awk -v k="$1" '$1 == "result" && $2 == k {print $3}' "$TMP/memory.txt"; }

# --- report ----------------------------------------------------------------------------------
SECTION="$TMP/section.md"
{
    echo "<!-- sampling-bench:start -->"
    echo "## Sampling (\`make bench-sampling\`)"
    echo
    echo "Machine: $CPU, $NPROC cores, $MEM_GIB GiB, $KERNEL; $RUSTC; revision $REVISION; $(date -u +%Y-%m-%d)."
    echo
    echo "\`strata run\` under \`strata loadgen --protocol grpc --concurrency $CONCURRENCY\` for ${SECONDS_RUN}s per run (server and load generator share the cores); baseline: one-thread prost decode of the same payloads, $(fmt_thousands "$DECODE") spans per CPU-second."
    echo
    echo "| sampling | server CPU-s | spans per server CPU-second | ÷ none | ÷ prost decode |"
    echo "|---|---:|---:|---:|---:|"
    echo "| none | $NONE_CPU | $(fmt_thousands "$NONE") | 1.00 | $(ratio "$NONE" "$DECODE") |"
    echo "| head, 10 % ($(fmt_thousands "$HEAD_OUT") of $(fmt_thousands "$HEAD_ACC") spans not stored) | $HEAD_CPU | $(fmt_thousands "$HEAD") | $(ratio "$HEAD" "$NONE") | $(ratio "$HEAD" "$DECODE") |"
    echo "| tail: errors, slow > 1 s, 5 % of the rest ($(fmt_thousands "$TAIL_KEPT") spans kept, $(fmt_thousands "$TAIL_DROPPED") dropped by the end of the run) | $TAIL_CPU | $(fmt_thousands "$TAIL") | $(ratio "$TAIL" "$NONE") | $(ratio "$TAIL" "$DECODE") |"
    echo
    echo "Memory (\`sampling_memory\` example):"
    echo
    echo "- Traces pending a tail decision (live set, one 400-byte share each): $(result pending_mib_per_million) MiB per million, $(result pending_overhead_mib_per_million) MiB of it beyond the payloads."
    echo "- Remembered decisions (sled): $(result decisions_rss_mib_per_million) MiB resident and $(result decisions_disk_mib_per_million) MiB on disk per million."
    echo "<!-- sampling-bench:end -->"
} >"$SECTION"
replace_section sampling-bench "$SECTION" "$OUT"
cat "$SECTION" >&2
