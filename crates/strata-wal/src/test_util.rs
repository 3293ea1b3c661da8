//! Helpers shared by the unit tests.

use std::fs;
use std::path::{Path, PathBuf};

use crate::format::{encode_record, encode_segment_header};
use crate::{replay, segment_path, ReplayReport, SegmentId};

pub(crate) type Records = Vec<(SegmentId, Vec<u8>)>;

/// Replays `dir`, collecting every record.
pub(crate) fn replay_all(dir: &Path) -> (Records, ReplayReport) {
    let mut out = Vec::new();
    let report = replay(dir, |seg, rec| {
        out.push((seg, rec.to_vec()));
        Ok(())
    })
    .expect("replay failed");
    assert_eq!(report.records, out.len() as u64, "report.records");
    assert_eq!(
        report.bytes,
        out.iter().map(|(_, r)| r.len() as u64).sum::<u64>(),
        "report.bytes"
    );
    (out, report)
}

/// Writes segment `id` by hand; returns its path and the end offset of each
/// record.
pub(crate) fn build_segment(dir: &Path, id: SegmentId, records: &[&[u8]]) -> (PathBuf, Vec<u64>) {
    let mut bytes = encode_segment_header().to_vec();
    let mut ends = Vec::new();
    for r in records {
        bytes.extend_from_slice(&encode_record(r));
        ends.push(bytes.len() as u64);
    }
    let path = segment_path(dir, id);
    fs::write(&path, bytes).unwrap();
    (path, ends)
}

/// Deterministic record of `len` bytes tagged by `seed`.
pub(crate) fn record(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seed as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

pub(crate) fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}
