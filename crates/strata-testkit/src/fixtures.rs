//! The checked-in stored-format fixtures: where they are and what they hold.
//!
//! `fixtures/` (next to this crate's `Cargo.toml`) holds one directory per fixture set; see
//! `fixtures/README.md`. A set is written once, by `make fixtures`, and never rewritten: tests
//! of the crate that owns each format read it forever, proving that a newer build still reads
//! what an older one stored. A new format version gets a new set next to the old ones, with
//! its own data module here.

pub mod v1;
pub mod v2;
pub mod v3;
pub mod v4;
pub mod v5;
pub mod v6;

use std::path::PathBuf;

/// The `fixtures/` directory of this crate.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}
