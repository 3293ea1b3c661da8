//! The `strata` command line as a shell user meets it.

use std::process::{Command, Stdio};

use strata_integration_tests::strata_bin;

/// `strata config dump | head -0`: the reader goes away before the first line; the command
/// ends quietly (status 0, nothing on stderr) instead of panicking on the broken pipe.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for args in [
        vec!["config", "dump", "config/single-binary.yaml"],
        vec!["--help"],
    ] {
        let mut child = Command::new(strata_bin())
            .args(&args)
            .current_dir(&root)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_BACKTRACE", "0")
            .spawn()
            .expect("starting strata");
        // Close the read end at once, as `head -0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("waiting for strata");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
    }
}
