#!/usr/bin/env bash
# End-to-end ingest benchmark (`make bench`).
#
# Builds the release binary, starts `strata run` on 127.0.0.1 with a throwaway data directory,
# then runs, against it and on the same machine:
#   1. `strata loadgen --mode decode`  — one-thread prost decode of the same payloads (baseline)
#   2. `strata loadgen --protocol grpc` — OTLP/gRPC push
#   3. `strata loadgen --protocol http` — OTLP/HTTP (protobuf) push
#   4. the decode baseline again, after the server stopped (the baseline is the mean of 1 and 4,
#      in spans per CPU-second of the decoding thread, to compare with the server's CPU-seconds)
# and records the server's peak RSS (against ingester.max_unflushed_bytes), mean WAL fsync time,
# the per-second accepted timeline with its min/median/max after warm-up, and the CPU time
# server and loadgen used (the server's also without its compaction thread's, "ingest"), and how
# many of the accepted spans compaction rewrote meanwhile, at what CPU per span. The results replace the section
# between `<!-- bench:start -->` and `<!-- bench:end -->` in docs/BENCHMARKS.md; everything else
# in that file is kept.
#
# Environment (all optional):
#   BENCH_SECONDS            sets all three durations at once (e.g. BENCH_SECONDS=3 for a quick run)
#   BENCH_DECODE_SECONDS     decode baseline duration            (default 10)
#   BENCH_GRPC_SECONDS       gRPC push duration                  (default 60)
#   BENCH_HTTP_SECONDS       HTTP push duration                  (default 20)
#   BENCH_GRPC_CONCURRENCY   gRPC requests in flight             (default 16)
#   BENCH_HTTP_CONCURRENCY   HTTP requests in flight             (default 8)
#   BENCH_LOADGEN_ARGS       extra flags for every loadgen run (e.g. "--spans-per-trace 20")
#   BENCH_MAX_UNFLUSHED      ingester.max_unflushed_bytes        (default 536870912, 512 MiB)
#   BENCH_API_PORT / BENCH_GRPC_PORT / BENCH_HTTP_PORT   listen ports (default 3200/4317/4318)
#   BENCH_SKIP_BUILD=1       use the existing target/release/strata
#   BENCH_BIN                the strata binary to run (default target/release/strata; with
#                            BENCH_SKIP_BUILD=1, to compare a saved build in the same hour)
#   BENCH_OUT                output file                         (default docs/BENCHMARKS.md)
#   JOBS                     cargo -j                            (default 2)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

DECODE_SECONDS=${BENCH_DECODE_SECONDS:-${BENCH_SECONDS:-10}}
GRPC_SECONDS=${BENCH_GRPC_SECONDS:-${BENCH_SECONDS:-60}}
MAX_UNFLUSHED=${BENCH_MAX_UNFLUSHED:-536870912}
HTTP_SECONDS=${BENCH_HTTP_SECONDS:-${BENCH_SECONDS:-20}}
GRPC_CONCURRENCY=${BENCH_GRPC_CONCURRENCY:-16}
HTTP_CONCURRENCY=${BENCH_HTTP_CONCURRENCY:-8}
LOADGEN_ARGS=${BENCH_LOADGEN_ARGS:-}
API_PORT=${BENCH_API_PORT:-3200}
GRPC_PORT=${BENCH_GRPC_PORT:-4317}
HTTP_PORT=${BENCH_HTTP_PORT:-4318}
OUT=${BENCH_OUT:-docs/BENCHMARKS.md}
JOBS=${JOBS:-2}
BIN="${BENCH_BIN:-$ROOT/target/release/strata}"
API="http://127.0.0.1:$API_PORT"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in curl awk sed; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

# --- build ----------------------------------------------------------------------------------
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building release binary"
    cargo build --release -j"$JOBS" -p strata-cli
fi
[[ -x $BIN ]] || die "$BIN not found (build it or unset BENCH_SKIP_BUILD)"

# --- server ---------------------------------------------------------------------------------
if curl -sf -o /dev/null "$API/ready" 2>/dev/null; then
    die "something already answers on $API; stop it or set BENCH_API_PORT/BENCH_GRPC_PORT/BENCH_HTTP_PORT"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
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

cat >"$TMP/config.yaml" <<EOF
server:
  http_listen_address: 127.0.0.1:$API_PORT
  log_level: warn
distributor:
  receivers:
    otlp:
      grpc_endpoint: 127.0.0.1:$GRPC_PORT
      http_endpoint: 127.0.0.1:$HTTP_PORT
ingester:
  wal:
    path: $TMP/wal
  max_unflushed_bytes: $MAX_UNFLUSHED
storage:
  local:
    path: $TMP/blocks
# The benchmark measures the server, not the per-tenant limits (15 MB/s ingestion, 10 000 live
# traces by default): both are off.
overrides:
  defaults:
    ingestion:
      rate_limit_bytes: 0
      max_traces_per_user: 0
EOF

log "starting $BIN run (data in $TMP)"
"$BIN" run --config "$TMP/config.yaml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        tail -n 30 "$TMP/server.log" >&2 || true
        die "server exited during start-up"
    fi
    if curl -sf -o /dev/null "$API/ready"; then
        ready=1
        break
    fi
    sleep 0.2
done
[[ $ready == 1 ]] || { tail -n 30 "$TMP/server.log" >&2; die "server not ready after 60s"; }
log "server ready (pid $SERVER_PID)"

# --- runs -----------------------------------------------------------------------------------
# shellcheck disable=SC2206
EXTRA=($LOADGEN_ARGS)
DECODE_CMD=("$BIN" loadgen --mode decode --duration "${DECODE_SECONDS}s" "${EXTRA[@]}")
GRPC_CMD=("$BIN" loadgen --protocol grpc --endpoint "http://127.0.0.1:$GRPC_PORT"
    --duration "${GRPC_SECONDS}s" --concurrency "$GRPC_CONCURRENCY" "${EXTRA[@]}")
HTTP_CMD=("$BIN" loadgen --protocol http --endpoint "http://127.0.0.1:$HTTP_PORT"
    --duration "${HTTP_SECONDS}s" --concurrency "$HTTP_CONCURRENCY" "${EXTRA[@]}")

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# The server's CPU time so far (user + system), in clock ticks.
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0; }
# The CPU time so far (user + system, clock ticks) of the server's compaction thread
# (`compactor-jobs`, strata-compactor's background module; 0 before its first job). Compaction is
# another role (`make bench-cluster` runs none), reported apart from ingest.
compaction_ticks() {
    local t s total=0
    for t in "/proc/$SERVER_PID/task"/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == compactor-jobs ]] || continue
        s=$(cat "$t/stat" 2>/dev/null) || continue
        # Fields after the ") " that closes the thread's name: utime and stime are the 12th and 13th.
        total=$((total + $(awk '{print $12 + $13}' <<<"${s##*) }")))
    done
    echo "$total"
}
declare -A SERVER_CPU_SECONDS LOADGEN_CPU_SECONDS COMPACTION_CPU_SECONDS
# CPU time (user + system) of this script's finished children, into CHILD_CPU. `times` must run
# in this shell, not in a $(…) subshell, to see them.
children_cpu() {
    times >"$TMP/times.txt"
    CHILD_CPU=$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.2f", s }' "$TMP/times.txt")
}

# Runs a loadgen command with --json into $TMP/$1.json and records the server's CPU time over the
# run; a failed run (every request failed) is recorded, not fatal, so the report still shows it.
run_loadgen() {
    local name=$1 out="$TMP/$1.json" t0 t1 c0 k0 k1
    shift
    log "running: ${*#"$ROOT/"}"
    t0=$(server_ticks)
    k0=$(compaction_ticks)
    children_cpu
    c0=$CHILD_CPU
    if ! "$@" --json >"$out"; then
        log "warning: loadgen exited non-zero (see the report)"
    fi
    t1=$(server_ticks)
    k1=$(compaction_ticks)
    children_cpu
    LOADGEN_CPU_SECONDS[$name]=$(awk -v a="$c0" -v b="$CHILD_CPU" 'BEGIN {printf "%.2f", b - a}')
    SERVER_CPU_SECONDS[$name]=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
    COMPACTION_CPU_SECONDS[$name]=$(awk -v a="$k0" -v b="$k1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
    [[ -s $out ]] || echo '{}' >"$out"
}

run_loadgen decode "${DECODE_CMD[@]}"
run_loadgen grpc "${GRPC_CMD[@]}"
run_loadgen http "${HTTP_CMD[@]}"

# --- server-side figures --------------------------------------------------------------------
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo "")
RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo "")
curl -sf "$API/metrics" >"$TMP/metrics.txt" || : >"$TMP/metrics.txt"
FSYNC_SUM=$(awk '$1 ~ /^strata_ingester_wal_fsync_duration_seconds_sum/ {s += $2} END {print s + 0}' "$TMP/metrics.txt")
FSYNC_COUNT=$(awk '$1 ~ /^strata_ingester_wal_fsync_duration_seconds_count/ {s += $2} END {print s + 0}' "$TMP/metrics.txt")
COMPACTED_SPANS=$(awk '$1 == "strata_compactor_spans_written_total" {s += $2} END {print s + 0}' "$TMP/metrics.txt")
COMPACTION_JOBS=$(awk '$1 == "strata_compactor_jobs_total" {s += $2} END {print s + 0}' "$TMP/metrics.txt")
CONCAT_JOBS=$(awk '$1 == "strata_compactor_jobs_concatenated_total" {s += $2} END {print s + 0}' "$TMP/metrics.txt")
CONCAT_SPANS=$(awk '$1 == "strata_compactor_spans_concatenated_total" {s += $2} END {print s + 0}' "$TMP/metrics.txt")

log "stopping server (SIGTERM)"
stop_start=$(date +%s.%N)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && server_rc=0 || server_rc=$?
SERVER_PID=""
STOP_SECONDS=$(awk -v a="$stop_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
# The decode baseline again, now that the machine is idle: one run's figure alone swings with
# what else the host runs; the report uses the mean of both.
log "running: ${DECODE_CMD[*]#"$ROOT/"} (again, server stopped)"
"${DECODE_CMD[@]}" --json >"$TMP/decode2.json" || echo '{}' >"$TMP/decode2.json"
WAL_BYTES=$(du -sb "$TMP/wal" 2>/dev/null | awk '{print $1}' || echo 0)
BLOCK_BYTES=$(du -sb "$TMP/blocks" 2>/dev/null | awk '{print $1}' || echo 0)
# Lines at WARN or ERROR, in either log format (logfmt `level=warn`, JSON `"level":"warn"`).
SERVER_WARNINGS=$(grep -ciE 'level"?[=:] ?"?(warn|error)' "$TMP/server.log" || true)

# --- report ---------------------------------------------------------------------------------
# Reads a number or string field from loadgen's flat JSON (keys are unique in its output).
jget() {
    local v
    v=$(grep -o "\"$2\":[^,}]*" "$1" | head -n 1 | cut -d: -f2- | tr -d '"')
    printf '%s' "${v:-}"
}
# "errors":{"grpc Unavailable":3,"timeout":1} -> "grpc Unavailable ×3, timeout ×1"
jerrors() {
    local failed
    failed=$(jget "$1" requests_failed)
    local kinds
    kinds=$(grep -o '"errors":{[^}]*}' "$1" | head -n 1 | sed -e 's/^"errors":{//' -e 's/}$//' \
        | sed -e 's/"\([^"]*\)":\([0-9]*\)/\1 ×\2/g' -e 's/,/, /g')
    if [[ -z $failed ]]; then
        printf 'run failed'
    elif [[ $failed == 0 ]]; then
        printf '0'
    else
        printf '%s failed requests (%s)' "$failed" "$kinds"
    fi
}
# 1234567.8 -> 1,234,568
fmt_int() {
    local n
    n=$(awk -v v="${1:-0}" 'BEGIN {printf "%.0f", v}')
    printf '%s' "$n" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'
}
div() { awk -v a="${1:-0}" -v b="${2:-0}" -v f="${3:-%.0f}" 'BEGIN {if (b + 0 == 0) print "n/a"; else printf f, a / b}'; }

# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

GRPC_SPS=$(jget "$TMP/grpc.json" accepted_spans_per_second)
HTTP_SPS=$(jget "$TMP/http.json" accepted_spans_per_second)
# Decode spans per CPU-second of the decoding thread (per second of wall time from a loadgen
# without a CPU clock), before the push runs and after the server stopped; the baseline is the
# mean of the two.
decode_cpu_sps() {
    local v
    v=$(jget "$1" decoded_spans_per_cpu_second)
    printf '%s' "${v:-$(jget "$1" decoded_spans_per_second_per_core)}"
}
DECODE_SPS_1=$(decode_cpu_sps "$TMP/decode.json")
DECODE_SPS_2=$(decode_cpu_sps "$TMP/decode2.json")
DECODE_SPS=$(awk -v a="${DECODE_SPS_1:-0}" -v b="${DECODE_SPS_2:-0}" 'BEGIN {if (a > 0 && b > 0) printf "%.1f", (a + b) / 2; else printf "%.1f", a + b}')
GRPC_P99=$(jget "$TMP/grpc.json" p99)
HTTP_P99=$(jget "$TMP/http.json" p99)
SPR=$(jget "$TMP/grpc.json" spans_per_request)
SPT=$(jget "$TMP/grpc.json" spans_per_trace)
ATTRS=$(jget "$TMP/grpc.json" attributes_per_span)
RATTRS=$(jget "$TMP/grpc.json" attributes_per_resource)

# The server's CPU-seconds over run $1 without its compaction thread's.
ingest_cpu() { awk -v a="${SERVER_CPU_SECONDS[$1]:-0}" -v b="${COMPACTION_CPU_SECONDS[$1]:-0}" 'BEGIN {printf "%.2f", a - b}'; }

# "- gRPC: …" line: requests/s, p50, throughput and the server's CPU use over the run.
detail() { # label json-file name
    local cpu=${SERVER_CPU_SECONDS[$3]:-0} lcpu=${LOADGEN_CPU_SECONDS[$3]:-0} secs accepted
    local kcpu=${COMPACTION_CPU_SECONDS[$3]:-0} icpu
    icpu=$(ingest_cpu "$3")
    secs=$(jget "$2" elapsed_seconds)
    accepted=$(jget "$2" spans_accepted)
    printf -- '- %s: %s requests/s, p50 %s ms, %s MiB/s of request bodies. The server used %s CPU-seconds (%s cores on average) = %s spans per server CPU-second; of those, compaction (its `compactor-jobs` thread) used %s and ingest %s = **%s spans per ingest CPU-second**; loadgen used %s cores.\n' \
        "$1" "$(fmt_int "$(jget "$2" requests_per_second)")" "$(jget "$2" p50)" \
        "$(jget "$2" sent_mib_per_second)" "$cpu" "$(div "$cpu" "$secs" %.2f)" \
        "$(fmt_int "$(div "$accepted" "$cpu" %.0f | sed 's#n/a#0#')")" "$kcpu" "$icpu" \
        "$(fmt_int "$(div "$accepted" "$icpu" %.0f | sed 's#n/a#0#')")" "$(div "$lcpu" "$secs" %.2f)"
}

ratio_cpu() { # name json-file: spans per server CPU-second ÷ decode spans/s
    div "$(div "$(jget "$2" spans_accepted)" "${SERVER_CPU_SECONDS[$1]:-0}" %.6f | sed 's#n/a#0#')" "$DECODE_SPS" %.3f
}
ratio_ingest_cpu() { # name json-file: spans per ingest CPU-second (without compaction) ÷ decode
    div "$(div "$(jget "$2" spans_accepted)" "$(ingest_cpu "$1")" %.6f | sed 's#n/a#0#')" "$DECODE_SPS" %.3f
}

row() { # name sps p99 errors
    local per_core
    per_core=$(div "$2" "$NPROC")
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(fmt_int "$2")" \
        "$([[ $per_core == n/a ]] && echo n/a || fmt_int "$per_core")" \
        "${3:-n/a} ms" "$4"
}

show_cmd() { # prints a command with the repository prefix stripped
    local out="" a
    for a in "$@"; do
        a=${a#"$ROOT/"}
        out+="${out:+ }$a"
    done
    printf '%s --json\n' "$out"
}

PUSHED=$(awk -v a="$(jget "$TMP/grpc.json" spans_accepted)" -v b="$(jget "$TMP/http.json" spans_accepted)" 'BEGIN {print a + b}')
COMPACTION_CPU=$(awk -v a="${COMPACTION_CPU_SECONDS[grpc]:-0}" -v b="${COMPACTION_CPU_SECONDS[http]:-0}" 'BEGIN {printf "%.2f", a + b}')

SECTION="$TMP/section.md"
{
    echo "<!-- bench:start -->"
    echo "## Latest end-to-end run — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "_Generated by \`scripts/bench.sh\` (\`make bench\`); do not edit this section by hand._"
    echo
    echo "| | |"
    echo "|---|---|"
    if [[ -n ${BENCH_BIN:-} ]]; then
        echo "| Revision | \`$BIN\` (checkout at $REVISION) |"
    else
        echo "| Revision | $REVISION |"
    fi
    echo "| CPU | $CPU × $NPROC (\`nproc\` = $NPROC) |"
    echo "| Memory | $MEM_GIB GiB |"
    echo "| Kernel | $KERNEL |"
    echo "| Toolchain | $RUSTC, release profile |"
    echo "| Payload | $SPR spans/request ($SPT spans/trace), $ATTRS attributes/span, $RATTRS attributes/resource, WAL fsync \`always\` |"
    echo
    echo "Server and load generator run on the same machine and share its $NPROC cores, so"
    echo "\"per core\" is the total divided by \`nproc\` — a lower bound on what one core of a"
    echo "dedicated server would do. The scenarios run one after the other against the same server,"
    echo "so the HTTP run also pays for cutting and flushing blocks of the gRPC run's traces; server"
    echo "CPU-seconds are read from \`/proc/<pid>/stat\` over each run. Refused pushes: loadgen"
    echo "\`--retry-after $(jget "$TMP/grpc.json" retry_after)\` (\`honor\`: retried no sooner than the server's \`RetryInfo\` /"
    echo "\`Retry-After\` delay, as OTLP exporters do; \`ignore\`: after 2 ms doubling to 256 ms)."
    echo
    echo "| Scenario | Accepted spans/s | Spans/s per core | p99 push latency | Errors |"
    echo "|---|---:|---:|---:|---|"
    row "OTLP/gRPC, concurrency $GRPC_CONCURRENCY, ${GRPC_SECONDS}s" "$GRPC_SPS" "$GRPC_P99" "$(jerrors "$TMP/grpc.json")"
    row "OTLP/HTTP protobuf, concurrency $HTTP_CONCURRENCY, ${HTTP_SECONDS}s" "$HTTP_SPS" "$HTTP_P99" "$(jerrors "$TMP/http.json")"
    echo
    detail gRPC "$TMP/grpc.json" grpc
    detail HTTP "$TMP/http.json" http
    echo "- Accepted spans per second — gRPC: $(timeline_points "$TMP/grpc.json")."
    echo "- gRPC $(timeline_summary "$TMP/grpc.json")."
    echo "- Accepted spans per second — HTTP: $(timeline_points "$TMP/http.json")."
    echo "- HTTP $(timeline_summary "$TMP/http.json")."
    echo "- Decode baseline (prost \`ExportTraceServiceRequest::decode\` of the same payloads, one thread, ${DECODE_SECONDS}s before the push runs and ${DECODE_SECONDS}s after the server stopped): $(fmt_int "$DECODE_SPS_1") and $(fmt_int "$DECODE_SPS_2") spans per CPU-second of the decoding thread ($(fmt_int "$(jget "$TMP/decode.json" decoded_spans_per_second)") and $(fmt_int "$(jget "$TMP/decode2.json" decoded_spans_per_second)") per second of wall time); their mean, **$(fmt_int "$DECODE_SPS") spans per CPU-second**, is the baseline below."
    echo "- Ingest ÷ decode, spans/s per core: gRPC $(div "$(div "$GRPC_SPS" "$NPROC" %.6f)" "$DECODE_SPS" %.3f), HTTP $(div "$(div "$HTTP_SPS" "$NPROC" %.6f)" "$DECODE_SPS" %.3f); per server CPU-second: gRPC $(ratio_cpu grpc "$TMP/grpc.json"), HTTP $(ratio_cpu http "$TMP/http.json"); **per ingest CPU-second** (the server's without compaction's): **gRPC $(ratio_ingest_cpu grpc "$TMP/grpc.json")**, HTTP $(ratio_ingest_cpu http "$TMP/http.json") (1.0 would mean ingest costs no more than decoding)."
    echo "- Server peak RSS (VmHWM): $(div "${HWM_KB:-0}" 1024 %.0f) MiB = **$(div "$(div "${HWM_KB:-0}" 1 %.0f)" "$(div "$MAX_UNFLUSHED" 1024 %.0f)" %.2f)× \`max_unflushed_bytes\`** ($(div "$MAX_UNFLUSHED" 1048576 %.0f) MiB; RSS at the end: $(div "${RSS_KB:-0}" 1024 %.0f) MiB)."
    echo "- WAL fsync: mean $(div "$FSYNC_SUM" "$FSYNC_COUNT" '%.6f' | awk '{ if ($1 == "n/a") print "n/a"; else printf "%.2f ms", $1 * 1000 }') over $(fmt_int "$FSYNC_COUNT") fsyncs (\`strata_ingester_wal_fsync_duration_seconds\` sum/count)."
    echo "- Compaction during the push runs: $(fmt_int "$COMPACTION_JOBS") jobs wrote $(fmt_int "$COMPACTED_SPANS") spans, $(div "$COMPACTED_SPANS" "$PUSHED" '%.6f' | awk '{ if ($1 == "n/a") print "n/a"; else printf "%.0f %%", $1 * 100 }') of the $(fmt_int "$PUSHED") accepted, in $COMPACTION_CPU CPU-seconds of its thread ($(div "$COMPACTION_CPU" "$COMPACTED_SPANS" '%.9f' | awk '{ if ($1 == "n/a") print "n/a"; else printf "%.2f µs", $1 * 1000000 }') per span written; \`strata_compactor_spans_written_total\`); $(fmt_int "$CONCAT_JOBS") of the jobs, $(fmt_int "$CONCAT_SPANS") of the spans, were concatenations (row groups copied without decoding, block format v5; \`strata_compactor_spans_concatenated_total\`). Runs this short compact only part of what they ingest, and only the first level, which concatenates; a server saturated for longer also merges (every other level), rewriting every span at least once."
    echo "- Shutdown (SIGTERM, flushing everything to blocks) took ${STOP_SECONDS}s, exit status $server_rc; WAL left: $(div "${WAL_BYTES:-0}" 1048576 %.1f) MiB, blocks written: $(div "${BLOCK_BYTES:-0}" 1048576 %.1f) MiB; server log lines at WARN/ERROR: $SERVER_WARNINGS."
    echo
    echo "Commands (the server is \`target/release/strata run --config <tmp>/config.yaml\` with the"
    echo "config below):"
    echo
    echo '```sh'
    show_cmd "${DECODE_CMD[@]}"
    show_cmd "${GRPC_CMD[@]}"
    show_cmd "${HTTP_CMD[@]}"
    echo '```'
    echo
    echo '```yaml'
    sed -e "s#$TMP#<tmp>#g" "$TMP/config.yaml"
    echo '```'
    echo
    echo "<details><summary>Raw loadgen reports</summary>"
    echo
    echo '```json'
    cat "$TMP/decode.json" "$TMP/grpc.json" "$TMP/http.json" "$TMP/decode2.json"
    echo '```'
    echo
    echo "</details>"
    echo "<!-- bench:end -->"
} >"$SECTION"

mkdir -p "$(dirname "$OUT")"
if [[ ! -f $OUT ]]; then
    cat >"$OUT" <<'EOF'
# Benchmarks

End-to-end ingest throughput of a single `strata run` process, measured with `make bench`
(`scripts/bench.sh`). The section between the `bench:start`/`bench:end` markers is regenerated on
every run; anything outside it is kept.

EOF
fi
replace_section bench "$SECTION" "$OUT"
log "wrote $OUT"
sed -n '/<!-- bench:start -->/,/<!-- bench:end -->/p' "$OUT" \
    | grep -E '^\|.*(gRPC|HTTP)|Decode|Accepted spans per second|after warm-up|peak RSS|per server CPU-second:' >&2 || true
