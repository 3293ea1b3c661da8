//! The checked-in WAL segment of fixture set `v1` (`crates/strata-testkit/fixtures/v1/wal`,
//! see its README) still replays whole: format-1 header, three intact records, no cut.
//!
//! Replay may truncate or quarantine a segment, so it runs on a copy; the checked-in file is
//! only read.

use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../strata-testkit/fixtures/v1/wal")
}

#[test]
fn segment_v1_replays_every_record() {
    let name = strata_wal::segment_file_name(1);
    let original = std::fs::read(fixture_dir().join(&name)).expect("fixture segment");
    assert_eq!(&original[..8], b"STRATWAL");
    assert_eq!(&original[8..10], &[1, 0], "segment format version 1");

    let copy = tempfile::tempdir().unwrap();
    std::fs::write(copy.path().join(&name), &original).unwrap();
    let mut records = Vec::new();
    let report = strata_wal::replay(copy.path(), |segment, payload| {
        records.push((segment, payload.to_vec()));
        Ok(())
    })
    .expect("replay");

    assert!(report.truncated.is_empty(), "{:?}", report.truncated);
    assert_eq!(report.segments, 1);
    assert_eq!(report.records, 3);
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|(segment, _)| *segment == 1));
    // Header, then one 8-byte frame header per record: nothing else is in the file.
    assert_eq!(report.bytes, original.len() as u64 - 16 - 3 * 8);
    // Every record is an ingester record of version 1 (its first byte); the ingester's own
    // test decodes them.
    assert!(records.iter().all(|(_, p)| p.first() == Some(&1)));
    // Replay changed nothing.
    assert_eq!(std::fs::read(copy.path().join(&name)).unwrap(), original);
}
