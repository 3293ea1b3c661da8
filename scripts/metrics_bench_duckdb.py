#!/usr/bin/env python3
"""DuckDB (one thread) computing the series of the metrics benchmark's queries with SQL.

Usage: metrics_bench_duckdb.py DATA_DIR [RUNS]

Reads every `data.parquet` under DATA_DIR (the search benchmark's blocks), computes for each
query of `crates/strata-engine/examples/metrics_bench.rs` the same per-minute series over the
same hour (right-closed steps, Tempo's alignment: one leading step), and prints one JSON
object per query: name, median milliseconds, rows of the result. Quantiles are exact
(`quantile_disc`), where Strata interpolates power-of-two buckets.
"""
import json
import statistics
import sys
import time

from duckdb_spans import connect

BASE_NS = 1_767_225_600_000_000_000
STEP_NS = 60_000_000_000
START = BASE_NS - STEP_NS  # aligned start, one leading step
END = BASE_NS + 3_600_000_000_000

INTERVAL = f"(ceil((start_time_unix_nano - {START}) / {STEP_NS}) - 1)"
IN_RANGE = f"start_time_unix_nano > {START} AND start_time_unix_nano <= {END}"

QUERIES = [
    (
        "count by service",
        f"SELECT {INTERVAL} AS i, service_name, count(*) FROM spans WHERE {IN_RANGE} GROUP BY ALL",
    ),
    (
        "rate, attribute filter",
        f"SELECT {INTERVAL} AS i, count(*) / 60.0 FROM spans WHERE {IN_RANGE} AND "
        "len(list_filter(attrs, lambda a: a.key = 'http.response.status_code' AND a.int >= 500)) > 0 "
        "GROUP BY ALL",
    ),
    (
        "quantiles of duration",
        f"SELECT {INTERVAL} AS i, quantile_disc(duration_nano, [0.5, 0.99]) FROM spans "
        f"WHERE {IN_RANGE} GROUP BY ALL",
    ),
]


def main():
    data_dir = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    con = connect(data_dir)
    for name, sql in QUERIES:
        times = []
        rows = 0
        for _ in range(runs):
            t = time.perf_counter()
            rows = len(con.execute(sql).fetchall())
            times.append((time.perf_counter() - t) * 1e3)
        print(json.dumps({"query": name, "ms": statistics.median(times), "runs_ms": times, "rows": rows}))


if __name__ == "__main__":
    main()
