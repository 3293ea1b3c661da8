//! Fuzz target of segment replay (`strata-fuzzkit`; `make fuzz` runs it longer).
//!
//! Each case writes three segments with the real writer ([`strata_wal::Wal`], one rotation
//! between them), corrupts the middle one with byte edits, and replays the directory. Replay
//! must not panic or fail, must return every record of the other
//! two segments intact, and a second replay must make no further cut.
//!
//! Of the corrupted segment, only records that were written may come back (each frame has a
//! CRC). Not necessarily a prefix: an edit that removes or repeats exactly one whole frame
//! leaves a valid segment, which no checksum can tell.

use std::path::Path;

use strata_fuzzkit::proptest::prelude::*;
use strata_fuzzkit::{fuzz, Mutations};
use strata_wal::{replay, segment_path, FsyncPolicy, SegmentId, Wal, WalConfig};

type Segments = Vec<Vec<Vec<u8>>>;

/// Records of three segments: a few each, small payloads (never empty: see `Wal::append`).
fn segments() -> impl Strategy<Value = Segments> {
    let record = prop::collection::vec(any::<u8>(), 1..48);
    prop::collection::vec(prop::collection::vec(record, 0..6), 3)
}

/// Writes `segments` with the real writer; returns the segment ids in order.
fn write(dir: &Path, segments: &Segments) -> Vec<SegmentId> {
    let mut cfg = WalConfig::new(dir);
    cfg.fsync = FsyncPolicy::Never;
    let wal = Wal::open(cfg).expect("open wal");
    let mut ids = Vec::new();
    for (i, records) in segments.iter().enumerate() {
        if i > 0 {
            wal.rotate().expect("rotate");
        }
        ids.push(wal.current_segment());
        for r in records {
            wal.append(r).expect("append");
        }
    }
    wal.sync().expect("sync");
    ids
}

fn replay_all(dir: &Path) -> (Vec<(SegmentId, Vec<u8>)>, strata_wal::ReplayReport) {
    let mut got = Vec::new();
    let report = replay(dir, |seg, payload| {
        got.push((seg, payload.to_vec()));
        Ok(())
    })
    .expect("replay of a corrupted segment must not fail");
    (got, report)
}

/// A scratch directory, in memory where there is one: every segment the writer creates is
/// fsynced with its directory, which on a disk costs more than the rest of a case.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn fuzz_wal_replay_corrupted_segment() {
    let inputs = (segments(), Mutations::strategy(6, &[]));
    fuzz(
        "fuzz_wal_replay_corrupted_segment",
        inputs,
        |(segments, edits)| {
            let dir = scratch();
            let ids = write(dir.path(), &segments);
            let victim = segment_path(dir.path(), ids[1]);
            let bytes = std::fs::read(&victim).expect("read segment");
            std::fs::write(&victim, edits.apply(bytes)).expect("write corrupted segment");

            let (got, report) = replay_all(dir.path());
            for (i, id) in ids.iter().enumerate() {
                let records: Vec<&Vec<u8>> = got
                    .iter()
                    .filter(|(s, _)| s == id)
                    .map(|(_, r)| r)
                    .collect();
                if i == 1 {
                    for r in records {
                        prop_assert!(segments[1].contains(r), "replay invented a record: {:?}", r);
                    }
                } else {
                    let want: Vec<&Vec<u8>> = segments[i].iter().collect();
                    prop_assert_eq!(records, want, "segment {} lost data", i);
                }
            }
            prop_assert_eq!(report.records, got.len() as u64);

            let (again, second) = replay_all(dir.path());
            prop_assert!(
                second.truncated.is_empty(),
                "second replay cut again: {:?}",
                second.truncated
            );
            prop_assert_eq!(again, got);
            Ok(())
        },
    );
}
