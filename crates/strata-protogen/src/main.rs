//! `strata-protogen`: regenerates the gRPC code of Strata's internal services from `proto/`
//! (`make proto`), or with `--check` verifies that the committed code is current.
//!
//! Pipeline: `protox` (a pure-Rust protobuf compiler, so no `protoc` is needed) parses
//! `proto/strata/ingester/v1/ingester.proto` and its imports into a descriptor set;
//! `tonic-prost-build` turns that into prost messages plus tonic client and server code.
//! Messages of package `tempopb` are not generated: they map to the hand-written structs in
//! `strata_proto::tempopb` (whose schema of record is `proto/tempopb/tempo.proto`), and OTLP
//! messages map to the `opentelemetry-proto` crate, whose `.proto` files are also the include
//! path for imports (found with `cargo metadata`).
//!
//! Output: `crates/strata-proto/src/gen/strata.ingester.v1.rs` and, from the vendored
//! `proto/zipkin/zipkin.proto` (Zipkin's own schema, Apache-2.0), the messages-only
//! `crates/strata-proto/src/gen/zipkin.proto3.rs`; both committed. It is formatted by
//! `prettyplease` (through prost-build), so the same inputs and lockfile give the same bytes.

mod generate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Mode::Write,
        ["--check"] => Mode::Check(None),
        ["--check", path] => Mode::Check(Some(PathBuf::from(path))),
        _ => {
            eprintln!("usage: strata-protogen [--check [FILE]]");
            return ExitCode::from(2);
        }
    };
    match run(mode) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strata-protogen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

enum Mode {
    /// Regenerate and write the committed file.
    Write,
    /// Regenerate and compare with the committed file (or the given one); write nothing.
    Check(Option<PathBuf>),
}

fn run(mode: Mode) -> anyhow::Result<ExitCode> {
    let root = workspace_root();
    let outputs = generate::generate_all(&root)?;
    match mode {
        Mode::Check(path) => {
            // With a path, check that file against the output of the same file name (else the
            // internal service's, the first).
            let checks: Vec<(PathBuf, &String)> = match &path {
                Some(p) => {
                    let fresh = outputs
                        .iter()
                        .find(|(o, _)| Path::new(o).file_name() == p.file_name())
                        .unwrap_or(&outputs[0]);
                    vec![(p.clone(), &fresh.1)]
                }
                None => outputs.iter().map(|(o, f)| (root.join(o), f)).collect(),
            };
            let mut ok = true;
            for (path, fresh) in checks {
                let existing = std::fs::read_to_string(&path).unwrap_or_default();
                if existing == *fresh {
                    println!("{} is current", path.display());
                } else {
                    eprintln!(
                        "{} is stale or was edited by hand: it differs from what proto/ generates.\n\
                         Run `make proto` and commit the result.",
                        path.display()
                    );
                    ok = false;
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Mode::Write => {
            for (output, fresh) in outputs {
                let path = root.join(output);
                let existing = std::fs::read_to_string(&path).unwrap_or_default();
                if existing == fresh {
                    println!("{output} unchanged");
                } else {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    std::fs::write(&path, fresh)?;
                    println!("wrote {output}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The workspace this binary was built from (`crates/strata-protogen/../..`).
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}
