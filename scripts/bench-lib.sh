# Shared by the benchmark scripts (sourced, not run): machine facts, the revision, and
# replacing a generated section of docs/BENCHMARKS.md.

NPROC=$(nproc)
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
CPU=${CPU:-$(uname -m)}
MEM_GIB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo "?")
KERNEL=$(uname -sr)
RUSTC=$(rustc --version 2>/dev/null || echo "rustc ?")

# The revision, read from .git without running git.
git_revision() {
    local head ref
    # A worktree's .git is a file: ask git when it is there.
    if command -v git >/dev/null && git rev-parse --short=12 HEAD 2>/dev/null; then
        return
    fi
    head=$(cat .git/HEAD 2>/dev/null) || { echo unknown; return; }
    if [[ $head == ref:* ]]; then
        ref=${head#ref: }
        if [[ -f .git/$ref ]]; then
            cut -c1-12 ".git/$ref"
        else
            awk -v r="$ref" '$2 == r {print substr($1, 1, 12)}' .git/packed-refs 2>/dev/null || echo unknown
        fi
        printf ' (%s)' "${ref#refs/heads/}"
    else
        printf '%s' "${head:0:12}"
    fi
}
REVISION=$(git_revision | tr -d '\n')
[[ -n $REVISION ]] || REVISION=unknown

# replace_section NAME SECTION_FILE OUT_FILE: puts SECTION_FILE (which carries the
# `<!-- NAME:start -->` and `<!-- NAME:end -->` markers) in place of the marked section of
# OUT_FILE, or appends it when OUT_FILE has no such section. Everything else is kept.
replace_section() {
    local name=$1 section=$2 out=$3 tmp
    tmp=$(mktemp)
    if grep -q "<!-- $name:start -->" "$out" && grep -q "<!-- $name:end -->" "$out"; then
        awk -v section="$section" -v start="<!-- $name:start -->" -v end="<!-- $name:end -->" '
            index($0, start) { while ((getline line < section) > 0) print line; skip = 1; next }
            index($0, end)   { skip = 0; next }
            !skip { print }
        ' "$out" >"$tmp"
    else
        { cat "$out"; echo; cat "$section"; } >"$tmp"
    fi
    cat "$tmp" >"$out"
    rm -f "$tmp"
}

# ingest_run NAME DEFAULTS_YAML: starts `$BIN run` on 127.0.0.1:$BENCH_LIB_API_PORT (gRPC
# $BENCH_LIB_GRPC_PORT) with per-tenant limits off and DEFAULTS_YAML (lines under
# `overrides.defaults`, printf escapes allowed) added, runs `loadgen --protocol grpc` for
# $SECONDS_RUN s at $CONCURRENCY requests in flight, saves the generated series, and stops the
# server. Sets ACCEPTED, CPU_S (server CPU-seconds), PER_CPU (accepted spans per server
# CPU-second) and SERIES (generated series). Needs BIN, TMP, SERVER_PID (the caller's cleanup
# stops it) and log/die.
BENCH_LIB_API_PORT=${BENCH_LIB_API_PORT:-3290}
BENCH_LIB_GRPC_PORT=${BENCH_LIB_GRPC_PORT:-4390}
ingest_run() {
    local name=$1 defaults=$2 t0 t1 hz
    hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
    {
        cat <<YAML
server:
  http_listen_address: 127.0.0.1:$BENCH_LIB_API_PORT
  log_level: warn
distributor:
  receivers:
    otlp:
      grpc_endpoint: 127.0.0.1:$BENCH_LIB_GRPC_PORT
      http_endpoint: ""
ingester:
  wal:
    path: $TMP/$name/wal
storage:
  local:
    path: $TMP/$name/blocks
overrides:
  defaults:
    ingestion:
      rate_limit_bytes: 0
      max_traces_per_user: 0
YAML
        printf '%b\n' "$defaults"
    } >"$TMP/$name.yaml"
    "$BIN" run --config "$TMP/$name.yaml" >"$TMP/$name.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null "http://127.0.0.1:$BENCH_LIB_API_PORT/ready" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$TMP/$name.log" >&2; die "server exited"; }
        sleep 0.2
    done
    log "run '$name': loadgen ${SECONDS_RUN}s"
    t0=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
    "$BIN" loadgen --protocol grpc --endpoint "http://127.0.0.1:$BENCH_LIB_GRPC_PORT" \
        --duration "${SECONDS_RUN}s" --concurrency "$CONCURRENCY" --json >"$TMP/$name.json" || true
    t1=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
    curl -sf "http://127.0.0.1:$BENCH_LIB_API_PORT/metrics/generator" >"$TMP/$name.series" || true
    curl -sf "http://127.0.0.1:$BENCH_LIB_API_PORT/metrics" >"$TMP/$name.metrics" || true
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
    ACCEPTED=$(grep -o '"spans_accepted":[0-9]*' "$TMP/$name.json" | cut -d: -f2)
    ACCEPTED=${ACCEPTED:-0}
    CPU_S=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')
    PER_CPU=$(awk -v a="$ACCEPTED" -v c="$CPU_S" 'BEGIN {if (c > 0) printf "%.0f", a / c; else print 0}')
    SERIES=$(grep -c '^traces_' "$TMP/$name.series" || true)
    log "  accepted $ACCEPTED spans, server $CPU_S CPU-s = $PER_CPU spans per CPU-second"
}

# fmt_thousands 1234567.8 -> 1,234,568
fmt_thousands() { awk -v v="$1" 'BEGIN {printf "%.0f", v}' | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
# ratio A B -> A / B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# timeline_points JSON_FILE: loadgen's per-second accepted spans, "269k 146k …".
timeline_points() {
    grep -o '"timeline_spans_per_second":\[[^]]*\]' "$1" | sed -e 's/.*\[//' -e 's/\]//' | tr ',' '\n' \
        | awk 'NF { printf "%s%.0fk", (n++ ? " " : ""), $1 / 1000 }'
}
# timeline_summary JSON_FILE: "min/median/max per second after warm-up: 98k / 121k / 140k
# (10 s warm-up, 50 s; 0 s below half the median)", from loadgen's timeline_summary.
timeline_summary() {
    local obj g
    obj=$(grep -o '"timeline_summary":{[^}]*}' "$1" | head -n 1)
    if [[ -z $obj ]]; then
        printf 'min/median/max per second after warm-up: n/a'
        return
    fi
    g() { grep -o "\"$1\":[0-9.]*" <<<"$obj" | cut -d: -f2; }
    printf 'min/median/max per second after warm-up: %s / %s / %s spans/s (%s s warm-up, %s s; %s s below half the median)' \
        "$(fmt_thousands "$(g min)")" "$(fmt_thousands "$(g median)")" "$(fmt_thousands "$(g max)")" \
        "$(g warmup_seconds)" "$(g seconds)" "$(g seconds_below_half_median)"
}
