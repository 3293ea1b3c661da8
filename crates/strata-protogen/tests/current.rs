//! The committed generated code is what `proto/` generates now (`strata-protogen --check`,
//! run as a real process), and the check does catch a difference.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_strata-protogen");

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/strata-proto/src/gen/strata.ingester.v1.rs")
}

#[test]
fn generated_code_is_current() {
    let out = Command::new(BIN).arg("--check").output().unwrap();
    assert!(
        out.status.success(),
        "generated gRPC code is stale; run `make proto`.\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_fails_on_an_edited_file() {
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("edited.rs");
    let mut text = std::fs::read_to_string(committed()).unwrap();
    text.push_str("// edited by hand\n");
    std::fs::write(&edited, text).unwrap();
    let out = Command::new(BIN)
        .arg("--check")
        .arg(&edited)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("make proto"), "{stderr}");
}

#[test]
fn check_covers_the_zipkin_messages() {
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("zipkin.proto3.rs");
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/strata-proto/src/gen/zipkin.proto3.rs");
    let mut text = std::fs::read_to_string(committed).unwrap();
    std::fs::write(&edited, &text).unwrap();
    let ok = Command::new(BIN)
        .arg("--check")
        .arg(&edited)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    text.push_str("// edited by hand\n");
    std::fs::write(&edited, text).unwrap();
    let out = Command::new(BIN)
        .arg("--check")
        .arg(&edited)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
