//! A small filesystem of the test's own: a size-limited tmpfs mounted on a temporary
//! directory, so a test can run the WAL out of space for real (ENOSPC from the kernel) and give
//! the space back. Mounting needs root, which the test machines and CI have; without it the
//! test fails with a message saying so rather than passing without having tested anything.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs; unmounted (lazily, so open files don't hold it) when dropped.
pub struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    /// Mounts a tmpfs of `bytes` bytes.
    pub fn mount(bytes: u64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "strata-test"])
            .arg(dir.path())
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "mounting a {bytes}-byte tmpfs on {} failed (this test needs root): {}",
            dir.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes zeros to a new file until the filesystem is full; returns the file's path.
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f: File = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .expect("creating the filler file");
        let chunk = vec![0u8; 4096];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        path
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
