"""Shared by the DuckDB benchmark scripts: a one-thread DuckDB connection with a view `spans`
over every block's `data.parquet` under a directory, and a view `spans_res` that also has the
resource columns.

Blocks of format strata-parquet-v4 keep each distinct resource once, in a resource table in
the Parquet footer (key `strata.resources`: base64 of a Parquet file with the columns
resource_attrs, resource_dropped_attributes_count, resource_entity_refs,
resource_schema_url; row i is `resource_ref` = i; crates/strata-block/src/resources.rs). Here
each table is decoded once, before any query, into a DuckDB table `resources`, and
`spans_res` joins it on (file, resource_ref). For v3 blocks `spans_res` is `spans`."""
import base64
import glob
import os
import sys
import tempfile

import duckdb

RESOURCES_KEY = "strata.resources"


def connect(data_dir):
    """The connection; exits when DATA_DIR holds no block."""
    files = sorted(glob.glob(f"{data_dir}/**/data.parquet", recursive=True))
    if not files:
        sys.exit(f"no data.parquet under {data_dir}")
    con = duckdb.connect()
    con.execute("SET threads = 1")
    file_list = ", ".join(f"'{f}'" for f in files)
    con.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet([{file_list}])")
    tables = resource_tables(con, files)
    if not tables:
        con.execute("CREATE VIEW spans_res AS SELECT * FROM spans")
        return con
    selects = " UNION ALL ".join(
        f"SELECT '{f}' AS file, (file_row_number)::UINTEGER AS resource_ref, "
        "* EXCLUDE (file_row_number) "
        f"FROM read_parquet('{t}', file_row_number = true)"
        for f, t in tables
    )
    con.execute(f"CREATE TABLE resources AS {selects}")
    con.execute(
        "CREATE VIEW spans_res AS SELECT s.* EXCLUDE (filename, resource_ref), "
        "r.resource_attrs, r.resource_dropped_attributes_count, r.resource_entity_refs, "
        "r.resource_schema_url "
        f"FROM read_parquet([{file_list}], filename = true) s "
        "JOIN resources r ON r.file = s.filename AND r.resource_ref = s.resource_ref"
    )
    return con


def resource_tables(con, files):
    """(data file, decoded resource table file) for every v4 block."""
    out = []
    tmp = None
    for f in files:
        rows = con.execute(
            "SELECT value FROM parquet_kv_metadata(?) WHERE decode(key) = ?",
            [f, RESOURCES_KEY],
        ).fetchall()
        if not rows:
            continue
        if tmp is None:
            tmp = tempfile.mkdtemp(prefix="strata-resources-")
        path = os.path.join(tmp, f"{len(out)}.parquet")
        with open(path, "wb") as w:
            w.write(base64.b64decode(bytes(rows[0][0])))
        out.append((f, path))
    return out
