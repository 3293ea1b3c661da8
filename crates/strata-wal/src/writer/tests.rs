use std::collections::HashMap;
use std::fs;
use std::sync::Arc;

use super::*;
use crate::format::encoded_len;
use crate::test_util::{file_len, record, replay_all};

fn cfg(dir: &Path, segment_max_bytes: u64, fsync: FsyncPolicy) -> WalConfig {
    WalConfig {
        segment_max_bytes,
        fsync,
        ..WalConfig::new(dir)
    }
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
    assert_send_sync::<Arc<Wal>>();
}

/// A zero-length frame reads as a zero-filled region on replay, so none is ever written.
#[test]
fn empty_records_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(cfg(tmp.path(), 1 << 30, FsyncPolicy::Always)).unwrap();
    assert!(matches!(wal.append(b""), Err(WalError::EmptyRecord)));
    // The log is still usable and holds only what was accepted.
    wal.append(b"x").unwrap();
    drop(wal);
    let (all, _) = replay_all(tmp.path());
    assert_eq!(all, vec![(1, b"x".to_vec())]);
}

#[test]
fn round_trip_varied_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(cfg(tmp.path(), 1 << 30, FsyncPolicy::Always)).unwrap();
    let seg = wal.current_segment();
    assert_eq!(seg, 1, "first segment of an empty dir");
    let sizes = [1usize, 7, 8, 100, 2, 4096, 65_537, 3, 200_000];
    let mut expected = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        let rec = record(i as u32, len);
        let info = wal.append(&rec).unwrap();
        assert_eq!(info.segment, seg);
        assert!(info.fsync.is_some(), "Always policy reports fsync time");
        expected.push((seg, rec));
    }
    let total: u64 = sizes.iter().map(|&l| encoded_len(l)).sum();
    assert_eq!(
        file_len(&segment_path(tmp.path(), seg)),
        SEGMENT_HEADER_LEN + total
    );
    drop(wal);

    let (got, report) = replay_all(tmp.path());
    assert_eq!(got, expected);
    assert_eq!(report.segments, 1);
    assert_eq!(report.records, sizes.len() as u64);
    assert_eq!(report.bytes, sizes.iter().sum::<usize>() as u64);
    assert!(report.truncated.is_empty(), "{:?}", report.truncated);
}

#[test]
fn never_policy_reports_no_fsync_and_sync_works() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(cfg(tmp.path(), 1 << 20, FsyncPolicy::Never)).unwrap();
    for i in 0..10 {
        let info = wal.append(&record(i, 10)).unwrap();
        assert!(info.fsync.is_none());
        assert!(!info.shared_fsync);
    }
    wal.sync().unwrap();
    wal.sync().unwrap(); // nothing new: returns immediately
    drop(wal);
    let (got, _) = replay_all(tmp.path());
    assert_eq!(got.len(), 10);
}

#[test]
fn rotation_by_size() {
    let tmp = tempfile::tempdir().unwrap();
    // header 16 + 2 frames of 38 = 92 <= 100; a third frame would make 130.
    let wal = Wal::open(cfg(tmp.path(), 100, FsyncPolicy::Always)).unwrap();
    let first = wal.current_segment();
    let mut expected = Vec::new();
    for i in 0..10 {
        let rec = record(i, 30);
        let info = wal.append(&rec).unwrap();
        assert_eq!(info.segment, first + u64::from(i) / 2);
        expected.push((info.segment, rec));
    }
    let segs = wal.segments().unwrap();
    assert_eq!(segs, (first..first + 5).collect::<Vec<_>>());
    for &s in &segs {
        assert!(file_len(&segment_path(tmp.path(), s)) <= 100);
    }

    // A record larger than the limit goes into a segment of its own...
    let big = record(99, 500);
    let info = wal.append(&big).unwrap();
    assert_eq!(info.segment, first + 5);
    expected.push((info.segment, big));
    // ...and the next record starts another one.
    let small = record(100, 1);
    let info = wal.append(&small).unwrap();
    assert_eq!(info.segment, first + 6);
    expected.push((info.segment, small));
    drop(wal);

    let (got, report) = replay_all(tmp.path());
    assert_eq!(got, expected);
    assert_eq!(report.segments, 7);
    assert!(report.truncated.is_empty());
}

#[test]
fn explicit_rotate() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(cfg(tmp.path(), 1 << 20, FsyncPolicy::Always)).unwrap();
    let a = wal.current_segment();
    wal.append(b"one").unwrap();
    let b = wal.rotate().unwrap();
    assert_eq!(b, a + 1);
    assert_eq!(wal.current_segment(), b);
    // Rotating an empty segment is fine too.
    let c = wal.rotate().unwrap();
    assert_eq!(c, b + 1);
    assert_eq!(wal.append(b"two").unwrap().segment, c);
    assert_eq!(wal.segments().unwrap(), vec![a, b, c]);
    drop(wal);
    let (got, report) = replay_all(tmp.path());
    assert_eq!(got, vec![(a, b"one".to_vec()), (c, b"two".to_vec())]);
    assert_eq!(report.segments, 3);
}

#[test]
fn open_after_existing_segments_and_delete_before() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested/wal");
    let wal = Wal::open(cfg(&dir, 1 << 20, FsyncPolicy::Always)).unwrap();
    wal.append(b"a").unwrap();
    wal.rotate().unwrap();
    wal.append(b"b").unwrap();
    let last = wal.current_segment();
    drop(wal);

    let wal = Wal::open(cfg(&dir, 1 << 20, FsyncPolicy::Always)).unwrap();
    assert_eq!(wal.current_segment(), last + 1);
    assert_eq!(wal.segments().unwrap(), vec![last - 1, last, last + 1]);
    // Existing segments are untouched and replay (current is empty).
    let (got, _) = replay_all(&dir);
    assert_eq!(got, vec![(last - 1, b"a".to_vec()), (last, b"b".to_vec())]);

    // Never deletes the current segment, even when asked for more.
    let cur = wal.current_segment();
    assert_eq!(wal.delete_segments_before(last).unwrap(), 1);
    assert_eq!(wal.segments().unwrap(), vec![last, cur]);
    assert_eq!(wal.delete_segments_before(u64::MAX).unwrap(), 1);
    assert_eq!(wal.segments().unwrap(), vec![cur]);
    assert_eq!(wal.delete_segments_before(u64::MAX).unwrap(), 0);
    wal.append(b"c").unwrap();
    drop(wal);
    let (got, _) = replay_all(&dir);
    assert_eq!(got, vec![(cur, b"c".to_vec())]);
}

#[test]
fn open_skips_ids_of_quarantined_segments() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(segment_path(tmp.path(), 4), b"").unwrap();
    let corrupt = format!("{}.corrupt", crate::segment_file_name(9));
    fs::write(tmp.path().join(corrupt), b"junk").unwrap();
    let wal = Wal::open(cfg(tmp.path(), 1 << 20, FsyncPolicy::Never)).unwrap();
    assert_eq!(wal.current_segment(), 10);
    // delete_segments_before leaves .corrupt files alone.
    assert_eq!(wal.delete_segments_before(u64::MAX).unwrap(), 1);
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);
}

#[test]
fn rejects_records_over_max() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(cfg(tmp.path(), 1 << 20, FsyncPolicy::Always)).unwrap();
    let huge = vec![0u8; MAX_RECORD_BYTES + 1];
    match wal.append(&huge) {
        Err(WalError::RecordTooLarge { len, max }) => {
            assert_eq!(len, MAX_RECORD_BYTES + 1);
            assert_eq!(max, MAX_RECORD_BYTES);
        }
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    let path = segment_path(tmp.path(), wal.current_segment());
    assert_eq!(file_len(&path), SEGMENT_HEADER_LEN, "nothing written");
    // The log is still usable.
    wal.append(b"ok").unwrap();
}

fn run_concurrent(threads: u32, per_thread: u32, segment_max_bytes: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(cfg(tmp.path(), segment_max_bytes, FsyncPolicy::Always)).unwrap());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let rec = format!("t{t}-{i}");
                    let info = wal.append(rec.as_bytes()).unwrap();
                    assert!(info.fsync.is_some());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    drop(wal);

    let (got, report) = replay_all(tmp.path());
    assert!(report.truncated.is_empty());
    assert_eq!(got.len() as u32, threads * per_thread);
    // Each thread's records appear exactly once and in the order it wrote them.
    let mut next: HashMap<u32, u32> = HashMap::new();
    let mut last_seg = 0;
    for (seg, rec) in got {
        assert!(seg >= last_seg);
        last_seg = seg;
        let s = String::from_utf8(rec).unwrap();
        let (t, i) = s[1..].split_once('-').unwrap();
        let (t, i): (u32, u32) = (t.parse().unwrap(), i.parse().unwrap());
        let n = next.entry(t).or_default();
        assert_eq!(i, *n, "thread {t} out of order");
        *n += 1;
    }
    assert_eq!(next.len() as u32, threads);
    assert!(next.values().all(|&n| n == per_thread));
}

#[test]
fn concurrent_appends_group_commit() {
    run_concurrent(8, 200, 1 << 30);
}

#[test]
fn concurrent_appends_with_rotation() {
    run_concurrent(4, 100, 256);
}

/// A record given in parts is the frame `append` writes for their concatenation, also when
/// there are more parts than one `writev` takes (`IOV_MAX`, 1024 on Linux) and empty parts
/// among them; parts adding up to nothing or to too much are refused like a record.
#[test]
fn append_parts_writes_the_concatenated_record() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(cfg(tmp.path(), 1 << 30, FsyncPolicy::Always)).unwrap();
    let whole = record(1, 70_001);
    let pieces: Vec<&[u8]> = whole.chunks(7).collect();
    assert!(pieces.len() > 4 * 1024);
    let mut with_empty = vec![&b""[..], &whole[..3], &b""[..], &whole[3..]];
    with_empty.push(&b""[..]);
    wal.append_parts(&pieces).unwrap();
    wal.append_parts(&with_empty).unwrap();
    wal.append(&whole).unwrap();
    assert!(matches!(
        wal.append_parts(&[&b""[..], &b""[..]]),
        Err(WalError::EmptyRecord)
    ));
    assert!(matches!(wal.append_parts(&[]), Err(WalError::EmptyRecord)));
    let half = vec![0u8; MAX_RECORD_BYTES / 2 + 1];
    assert!(matches!(
        wal.append_parts(&[&half, &half]),
        Err(WalError::RecordTooLarge { .. })
    ));
    let seg = wal.current_segment();
    drop(wal);
    let bytes = fs::read(segment_path(tmp.path(), seg)).unwrap();
    let frame = encoded_len(whole.len()) as usize;
    let body = &bytes[SEGMENT_HEADER_LEN as usize..];
    assert_eq!(
        body.len(),
        3 * frame,
        "nothing written for the refused ones"
    );
    assert_eq!(body[..frame], body[2 * frame..], "parts: the same frame");
    assert_eq!(body[frame..2 * frame], body[2 * frame..]);
    let (got, _) = replay_all(tmp.path());
    assert_eq!(got, vec![(seg, whole.clone()); 3]);
}
