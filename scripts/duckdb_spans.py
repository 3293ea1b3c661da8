"""Shared by the DuckDB benchmark scripts: a one-thread DuckDB connection with a view `spans`
over every block's `data.parquet` under a directory."""
import glob
import sys

import duckdb


def connect(data_dir):
    """The connection; exits when DATA_DIR holds no block."""
    files = sorted(glob.glob(f"{data_dir}/**/data.parquet", recursive=True))
    if not files:
        sys.exit(f"no data.parquet under {data_dir}")
    con = duckdb.connect()
    con.execute("SET threads = 1")
    file_list = ", ".join(f"'{f}'" for f in files)
    con.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet([{file_list}])")
    return con
