#!/usr/bin/env bash
# Search speed-up from 1 to 2 cores (part of `make bench`).
#
# Builds the `search_cores` example of strata-querier (crates/strata-querier/examples/
# search_cores.rs, whose module docs say what is measured) and runs it pinned to one core
# (`taskset -c 0`) and to two (`taskset -c 0,1`), alternating, ROUNDS times each, with the
# load average printed before every run (the machine may be shared: compare runs of the same
# round). Prints the example's lines; nothing is written to docs/BENCHMARKS.md (copy the
# figures there by hand, with the date and the load).
#
# Environment (all optional):
#   SEARCH_CORES_BLOCKS   blocks            (default 12)
#   SEARCH_CORES_SPANS    spans per block   (default 150000)
#   SEARCH_CORES_TARGET   target bytes per job (default: the configuration's default)
#   SEARCH_CORES_ROUNDS   alternations      (default 2)
#   SEARCH_CORES_SKIP_BUILD=1  use the existing binary
#   CARGO_TARGET_DIR, JOBS as for the other benchmarks
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET=${CARGO_TARGET_DIR:-$(pwd)/target}
BIN="$TARGET/release/examples/search_cores"
BLOCKS=${SEARCH_CORES_BLOCKS:-12}
SPANS=${SEARCH_CORES_SPANS:-150000}
ROUNDS=${SEARCH_CORES_ROUNDS:-2}
ARGS=(--blocks "$BLOCKS" --spans "$SPANS" --runs 3)
if [[ -n ${SEARCH_CORES_TARGET:-} ]]; then ARGS+=(--target "$SEARCH_CORES_TARGET"); fi

if [[ ${SEARCH_CORES_SKIP_BUILD:-0} != 1 ]]; then
	cargo build -j"${JOBS:-2}" --release -p strata-querier --example search_cores
fi
if [[ $(nproc) -lt 2 ]]; then
	echo "search-cores: needs 2 cores" >&2
	exit 1
fi
for round in $(seq 1 "$ROUNDS"); do
	for cpus in 0 0,1; do
		echo "# round $round, taskset -c $cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
		taskset -c "$cpus" "$BIN" "${ARGS[@]}"
	done
done
