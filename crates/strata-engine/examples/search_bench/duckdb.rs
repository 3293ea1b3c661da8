//! DuckDB, the comparison: `scripts/search_bench_duckdb.py` (which holds the SQL of every
//! query, for all to read) started once as a child process over the same blocks, on one
//! thread. The benchmark writes a query kind to its stdin per run and reads back one JSON
//! line: DuckDB's time (measured inside the script, around `execute` and `fetchall`), the
//! matched traces and the matched spans, which must agree with Strata's.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::BoxError;

/// The script, next to the other benchmark scripts of the repository.
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/search_bench_duckdb.py"
);

/// One DuckDB run of a query.
pub struct DuckRun {
    pub ms: f64,
    pub traces: usize,
    pub spans: u64,
}

/// The running script.
pub struct DuckDb {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl DuckDb {
    /// Starts the script with `python` (a Python with the `duckdb` package) over the blocks
    /// under `dir`.
    pub fn start(python: &Path, dir: &Path) -> Result<Self, BoxError> {
        let mut child = Command::new(python)
            .arg(SCRIPT)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {} {SCRIPT}: {e}", python.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// Runs the query of `kind` once.
    pub fn run(&mut self, kind: &str) -> Result<DuckRun, BoxError> {
        writeln!(self.stdin, "{kind}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("the DuckDB script exited".into());
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        if let Some(e) = v["error"].as_str() {
            return Err(format!("DuckDB: {e}").into());
        }
        let num = |k: &str| {
            v[k].as_f64()
                .ok_or_else(|| format!("DuckDB answer lacks {k}"))
        };
        Ok(DuckRun {
            ms: num("ms")?,
            traces: num("traces")? as usize,
            spans: num("spans")? as u64,
        })
    }
}

impl Drop for DuckDb {
    fn drop(&mut self) {
        // Ends the script, which may be in the middle of a query.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
