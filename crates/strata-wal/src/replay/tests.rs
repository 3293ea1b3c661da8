use std::fs::{self, OpenOptions};
use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::format::{encode_segment_header, segment_file_name};
use crate::test_util::{build_segment, file_len, record, replay_all};

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn recs(n: u32, len: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| record(i, len + i as usize)).collect()
}

fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(Vec::as_slice).collect()
}

fn tagged(seg: SegmentId, v: &[Vec<u8>]) -> Vec<(SegmentId, Vec<u8>)> {
    v.iter().map(|r| (seg, r.clone())).collect()
}

/// Replays twice: the first run must make exactly one cut with `reason_part`
/// at `offset`, the second must see the same records and no cut.
fn assert_single_cut(dir: &Path, seg: SegmentId, offset: u64, reason_part: &str) -> Vec<Vec<u8>> {
    let path = segment_path(dir, seg);
    let before = file_len(&path);
    let (got, report) = replay_all(dir);
    assert_eq!(report.truncated.len(), 1, "{:?}", report.truncated);
    let cut = &report.truncated[0];
    assert_eq!(cut.segment, seg);
    assert_eq!(cut.offset, offset);
    assert_eq!(cut.dropped_bytes, before - offset);
    assert!(
        cut.reason.contains(reason_part),
        "reason {:?} lacks {reason_part:?}",
        cut.reason
    );
    assert_eq!(file_len(&path), offset, "file truncated at the cut");

    let (again, report2) = replay_all(dir);
    assert!(report2.truncated.is_empty(), "{:?}", report2.truncated);
    assert_eq!(again, got);
    got.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn empty_or_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (got, report) = replay_all(tmp.path());
    assert!(got.is_empty());
    assert_eq!(report, ReplayReport::default());
    let (got, report) = replay_all(&tmp.path().join("nope"));
    assert!(got.is_empty());
    assert_eq!(report, ReplayReport::default());
}

#[test]
fn torn_tail_mid_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let records = recs(5, 40);
    let (path, ends) = build_segment(tmp.path(), 3, &refs(&records));
    // Cut in the middle of the last payload.
    set_len(&path, ends[4] - 10);
    let got = assert_single_cut(tmp.path(), 3, ends[3], "partial payload");
    assert_eq!(got, records[..4]);
}

#[test]
fn torn_tail_mid_length_header() {
    let tmp = tempfile::tempdir().unwrap();
    let records = recs(5, 40);
    let (path, ends) = build_segment(tmp.path(), 3, &refs(&records));
    set_len(&path, ends[3] + 3);
    let got = assert_single_cut(tmp.path(), 3, ends[3], "partial record header");
    assert_eq!(got, records[..4]);
}

/// Found by `fuzz_wal_replay_corrupted_segment`: a zero-filled tail (the file grew, the data
/// never landed) read as a run of empty records — the CRC of nothing is 0 — which the
/// ingester could not decode, so it refused to start. It is cut as a torn tail instead.
#[test]
fn zero_filled_tail_is_cut_not_replayed_as_empty_records() {
    let tmp = tempfile::tempdir().unwrap();
    let records = recs(2, 20);
    let (path, ends) = build_segment(tmp.path(), 4, &refs(&records));
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(&path, bytes).unwrap();
    let got = assert_single_cut(tmp.path(), 4, ends[1], "zero-length record");
    assert_eq!(got, records);
}

/// The fuzzer's minimal input: an empty segment whose header bytes 7..16 were repeated
/// after byte 10, leaving 9 zero bytes after the header.
#[test]
fn zero_frame_after_the_header_is_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, _) = build_segment(tmp.path(), 1, &[]);
    let header = fs::read(&path).unwrap();
    let mut bytes = header[..10].to_vec();
    bytes.extend_from_slice(&header[7..]);
    bytes.extend_from_slice(&header[10..]);
    fs::write(&path, bytes).unwrap();
    let got = assert_single_cut(tmp.path(), 1, SEGMENT_HEADER_LEN, "zero-length record");
    assert!(got.is_empty());
}

#[test]
fn crc_mismatch_in_middle_record() {
    let tmp = tempfile::tempdir().unwrap();
    let records = recs(3, 20);
    let (path, ends) = build_segment(tmp.path(), 1, &refs(&records));
    let mut bytes = fs::read(&path).unwrap();
    let mid = (ends[0] + 8 + 5) as usize; // inside the second payload
    bytes[mid] ^= 0x40;
    fs::write(&path, bytes).unwrap();
    let got = assert_single_cut(tmp.path(), 1, ends[0], "crc");
    assert_eq!(got, records[..1]);
}

#[test]
fn absurd_length_is_a_corrupt_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let records = recs(2, 10);
    let (path, ends) = build_segment(tmp.path(), 1, &refs(&records));
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&0xFFFF_FFF0u32.to_le_bytes()).unwrap();
    f.write_all(&[0xAB; 4]).unwrap();
    f.write_all(&[1; 32]).unwrap();
    drop(f);
    let got = assert_single_cut(tmp.path(), 1, ends[1], "absurd");
    assert_eq!(got, records);
}

#[test]
fn length_beyond_file_end_is_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let records = recs(2, 10);
    let (path, ends) = build_segment(tmp.path(), 1, &refs(&records));
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&1_000_000u32.to_le_bytes()).unwrap();
    f.write_all(&[0; 4]).unwrap();
    f.write_all(&[7; 100]).unwrap();
    drop(f);
    let got = assert_single_cut(tmp.path(), 1, ends[1], "partial payload");
    assert_eq!(got, records);
}

/// A zero-length frame (never written by `Wal::append`) ends the segment like any torn tail:
/// what follows is not trusted.
#[test]
fn zero_length_frame_cuts_the_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, ends) = build_segment(tmp.path(), 1, &[b"x", b"", b"y"]);
    let got = assert_single_cut(tmp.path(), 1, ends[0], "zero-length record");
    assert_eq!(got, vec![b"x".to_vec()]);
}

#[test]
fn bad_headers_are_quarantined() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good1 = recs(2, 5);
    let good2 = recs(3, 7);
    build_segment(dir, 1, &refs(&good1));

    let mut wrong_magic = encode_segment_header().to_vec();
    wrong_magic[..8].copy_from_slice(b"NOTAWAL!");
    wrong_magic.extend_from_slice(&[0; 20]);
    fs::write(segment_path(dir, 2), &wrong_magic).unwrap();

    let mut v9 = encode_segment_header().to_vec();
    v9[8] = 9;
    fs::write(segment_path(dir, 3), &v9).unwrap();

    fs::write(segment_path(dir, 4), b"STRAT").unwrap(); // short header
    fs::write(segment_path(dir, 5), b"").unwrap(); // empty file
    build_segment(dir, 6, &refs(&good2));

    let (got, report) = replay_all(dir);
    let mut expected = tagged(1, &good1);
    expected.extend(tagged(6, &good2));
    assert_eq!(got, expected);
    assert_eq!(report.segments, 2);
    let bad: Vec<_> = report.truncated.iter().map(|t| t.segment).collect();
    assert_eq!(bad, vec![2, 3, 4, 5]);
    for t in &report.truncated {
        assert!(t.reason.starts_with("bad segment header"), "{}", t.reason);
        assert_eq!(t.offset, 0);
    }
    assert!(report.truncated[0].reason.contains("magic"));
    assert!(report.truncated[1].reason.contains("version 9"));
    assert_eq!(report.truncated[0].dropped_bytes, wrong_magic.len() as u64);

    // Renamed, not deleted, contents intact.
    for id in 2..=5 {
        assert!(!segment_path(dir, id).exists());
    }
    let q = dir.join(format!("{}.corrupt", segment_file_name(2)));
    assert_eq!(fs::read(q).unwrap(), wrong_magic);
    assert_eq!(list_segments(dir).unwrap(), vec![1, 6]);

    // Second replay: nothing left to repair.
    let (again, report2) = replay_all(dir);
    assert_eq!(again, expected);
    assert!(report2.truncated.is_empty());
}

#[test]
fn torn_tail_in_older_segment_does_not_hide_newer_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let a = recs(3, 10);
    let b = recs(2, 4);
    let (path, ends) = build_segment(tmp.path(), 1, &refs(&a));
    set_len(&path, ends[2] - 1);
    build_segment(tmp.path(), 2, &refs(&b));
    let (got, report) = replay_all(tmp.path());
    let mut expected = tagged(1, &a[..2]);
    expected.extend(tagged(2, &b));
    assert_eq!(got, expected);
    assert_eq!(report.segments, 2);
    assert_eq!(report.truncated.len(), 1);
    assert_eq!(report.truncated[0].segment, 1);
}

#[test]
fn callback_error_stops_replay() {
    let tmp = tempfile::tempdir().unwrap();
    build_segment(tmp.path(), 1, &[b"a", b"b", b"c"]);
    build_segment(tmp.path(), 2, &[b"d"]);
    let mut seen = Vec::new();
    let err = replay(tmp.path(), |_, r| {
        seen.push(r.to_vec());
        if r == b"b" {
            Err("boom".to_string())
        } else {
            Ok(())
        }
    })
    .unwrap_err();
    match err {
        WalError::Callback(msg) => assert_eq!(msg, "boom"),
        other => panic!("expected Callback, got {other:?}"),
    }
    assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn replay_before_leaves_current_segment_alone() {
    let tmp = tempfile::tempdir().unwrap();
    build_segment(tmp.path(), 1, &[b"old"]);
    let wal = crate::Wal::open(crate::WalConfig::new(tmp.path())).unwrap();
    wal.append(b"new").unwrap();
    let mut got = Vec::new();
    let report = replay_before(tmp.path(), wal.current_segment(), |s, r| {
        got.push((s, r.to_vec()));
        Ok(())
    })
    .unwrap();
    assert_eq!(got, vec![(1, b"old".to_vec())]);
    assert_eq!(report.segments, 1);
    assert_eq!(
        wal.delete_segments_before(wal.current_segment()).unwrap(),
        1
    );
    drop(wal);
    let (all, _) = replay_all(tmp.path());
    assert_eq!(all, vec![(2, b"new".to_vec())]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Truncating a segment anywhere yields exactly the records that lie
    /// entirely before the cut.
    #[test]
    fn truncation_anywhere_yields_a_prefix(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..64), 0..12),
        cut_frac in 0.0f64..=1.0,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (path, ends) = build_segment(tmp.path(), 1, &refs(&records));
        let total = file_len(&path);
        let cut = ((total as f64) * cut_frac).floor() as u64;
        set_len(&path, cut);

        let (got, report) = replay_all(tmp.path());
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        if cut < SEGMENT_HEADER_LEN {
            prop_assert!(got.is_empty());
            prop_assert_eq!(report.truncated.len(), 1);
            prop_assert!(report.truncated[0].reason.starts_with("bad segment header"));
        } else {
            prop_assert_eq!(got, tagged(1, &records[..complete]));
            let boundary = cut == SEGMENT_HEADER_LEN || ends.contains(&cut);
            prop_assert_eq!(report.truncated.is_empty(), boundary);
            let (_, again) = replay_all(tmp.path());
            prop_assert!(again.truncated.is_empty());
        }
    }

    /// Flipping any byte after the header never panics and yields a prefix.
    #[test]
    fn corruption_anywhere_yields_a_prefix(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..64), 1..12),
        pos_frac in 0.0f64..1.0,
        flip in 1u8..=255,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (path, _) = build_segment(tmp.path(), 1, &refs(&records));
        let mut bytes = fs::read(&path).unwrap();
        let body = bytes.len() - SEGMENT_HEADER_LEN as usize;
        let pos = SEGMENT_HEADER_LEN as usize + ((body as f64) * pos_frac) as usize;
        bytes[pos] ^= flip;
        fs::write(&path, bytes).unwrap();

        let (got, report) = replay_all(tmp.path());
        prop_assert!(got.len() < records.len(), "a corrupted record was returned");
        prop_assert_eq!(got, tagged(1, &records[..report.records as usize]));
        prop_assert_eq!(report.truncated.len(), 1);
    }
}
