#!/usr/bin/env python3
"""DuckDB (one thread) answering the search benchmark's queries with SQL.

Usage: search_bench_duckdb.py DATA_DIR

Reads every `data.parquet` under DATA_DIR (the search benchmark's blocks) as one view
`spans`, then serves the benchmark (crates/strata-engine/examples/search_bench.rs, which
starts this script and alternates with Strata's runs): each line read from stdin names a
query kind of `QUERIES`; the query runs once, its answer materialised in a DuckDB table, and
one JSON line is written to stdout:
`{"kind", "ms", "traces", "spans"}` (matched traces, matched spans over all spansets), or
`{"kind", "error"}`.

Every query computes what Strata's search answers with an unbounded limit: per matched trace
its ID, start (earliest span start), duration (latest end - earliest start), root span name
and root service (the span without a parent), and per spanset the matched span count and the
first three matched spans by start time (ID, name, start, duration). Strata also computes
per-service span and error counts, which this SQL does not. The predicates follow TraceQL's
semantics on this data set: an attribute is the first list entry with the key; `.x` is the
span's attribute, else the resource's; regexes match the whole string; `resource.service.name`
reads the blocks' `service_name` column (the copy of that resource attribute, which Strata
also reads); `>>` (descendant) needs the span tree: a recursive join walks up parent_span_id.
"""
import json
import sys
import time

from duckdb_spans import connect

SPSS = 3


def attr(column, key, field):
    """The value `field` of the first entry with `key` in an attribute list column."""
    return f"list_filter({column}, lambda a: a.key = '{key}')[1].{field}"


# Per matched span: (trace_id, group, span_id, name, start, duration). `group` separates the
# spansets of one trace (by() values); NULL when there is one spanset.
def filtered(pred, table="spans"):
    return (
        "SELECT trace_id, NULL AS grp, span_id, name, start_time_unix_nano AS s, "
        f"duration_nano AS d FROM {table} WHERE {pred}"
    )


# `{ frontend } >> { pred }`: spans passing `pred` with an ancestor of service frontend, found
# by walking up the parent links of each candidate (edges materialised once) until one is.
DESCENDANT = """
WITH RECURSIVE edges AS MATERIALIZED (
    SELECT trace_id, span_id, parent_span_id, service_name = 'frontend' AS hit FROM spans
),
up(trace_id, span_id, ancestor, found) AS (
    SELECT trace_id, span_id, parent_span_id, false FROM spans WHERE {pred}
    UNION ALL
    SELECT u.trace_id, u.span_id, e.parent_span_id, e.hit
    FROM up u JOIN edges e ON e.trace_id = u.trace_id AND e.span_id = u.ancestor
    WHERE NOT u.found
),
matched_ids AS (SELECT DISTINCT trace_id, span_id FROM up WHERE found)
SELECT s.trace_id, NULL AS grp, s.span_id, s.name, s.start_time_unix_nano AS s,
       s.duration_nano AS d
FROM spans s SEMI JOIN matched_ids m ON s.trace_id = m.trace_id AND s.span_id = m.span_id
"""

COUNT = """
SELECT trace_id, NULL AS grp, span_id, name, start_time_unix_nano AS s, duration_nano AS d
FROM spans
WHERE trace_id IN (SELECT trace_id FROM spans GROUP BY trace_id HAVING count(*) > 20)
"""

# kind (as in search_bench.rs) -> the matched spans.
QUERIES = {
    "span attribute =": filtered(f"{attr('attrs', 'http.request.method', 'str')} = 'POST'"),
    "resource attribute =": filtered("service_name = 'checkout'"),
    "unscoped attribute =": filtered(
        f"{attr('list_concat(attrs, resource_attrs)', 'deployment.environment', 'str')} = 'prod'",
        # With the resource columns: joined from the blocks' resource tables in format v4.
        "spans_res",
    ),
    "int attribute >=": filtered(f"{attr('attrs', 'http.response.status_code', 'int')} >= 500"),
    "regex, broad": filtered("regexp_full_match(name, 'GET /api/v1/items/.*')"),
    "regex, selective": filtered(
        f"regexp_full_match({attr('attrs', 'url.full', 'str')}, '.*/items/1234[0-9]')"
    ),
    "duration >": filtered("duration_nano > 1000000000"),
    "duration range": filtered("duration_nano > 100000000 AND duration_nano < 200000000"),
    "status": filtered("status_code = 2"),
    "structural >>": DESCENDANT.format(pred=f"{attr('attrs', 'db.system', 'str')} = 'postgresql'"),
    "pipeline count()": COUNT,
    "pipeline by()": (
        "SELECT trace_id, service_name AS grp, span_id, name, start_time_unix_nano AS s, "
        "duration_nano AS d FROM spans WHERE status_code = 2"
    ),
}

# The answer around the matched spans: spansets, then trace metadata from every span of the
# matched traces (a semi-join on trace ID).
ANSWER = """
WITH matched AS ({matched}),
sets AS (
    SELECT trace_id, grp, count(*) AS n,
           list(struct_pack(span_id, name, s, d) ORDER BY s, span_id)[1:{spss}] AS first
    FROM matched GROUP BY trace_id, grp
),
traces AS (
    SELECT trace_id,
           min(start_time_unix_nano) AS start,
           max(end_time_unix_nano) - min(start_time_unix_nano) AS duration,
           arg_min(name, start_time_unix_nano) FILTER (WHERE parent_span_id = ''::BLOB) AS root_name,
           arg_min(service_name, start_time_unix_nano) FILTER (WHERE parent_span_id = ''::BLOB)
               AS root_service
    FROM spans
    WHERE trace_id IN (SELECT trace_id FROM sets)
    GROUP BY trace_id
)
SELECT t.trace_id, t.start, t.duration, t.root_name, t.root_service, s.grp, s.n, s.first
FROM traces t JOIN sets s USING (trace_id)
"""


def sql(kind):
    return ANSWER.format(matched=QUERIES[kind], spss=SPSS)


def main():
    data_dir = sys.argv[1]
    con = connect(data_dir)
    for line in sys.stdin:
        kind = line.strip()
        if not kind:
            continue
        try:
            # The answer is materialised inside DuckDB (as Strata's is in memory), not
            # converted to Python objects.
            t = time.perf_counter()
            con.execute(f"CREATE OR REPLACE TEMP TABLE answer AS {sql(kind)}")
            ms = (time.perf_counter() - t) * 1e3
            traces, spans = con.execute(
                "SELECT count(DISTINCT trace_id), coalesce(sum(n), 0) FROM answer"
            ).fetchone()
            out = {"kind": kind, "ms": ms, "traces": traces, "spans": int(spans)}
        except Exception as e:  # reported to the benchmark, which records it
            out = {"kind": kind, "error": str(e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
