//! Reading segments back after a restart, with torn-tail repair.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::Path;

use tracing::{debug, warn};

use crate::dir::{list_segments, quarantine, segment_path};
use crate::error::{Result, WalError};
use crate::format::{
    decode_segment_header, RecordHeader, MAX_RECORD_BYTES, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN,
};
use crate::SegmentId;

/// Outcome of reading back existing segments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Segments whose header was valid and whose records were read.
    pub segments: usize,
    /// Valid records passed to the callback.
    pub records: u64,
    /// Total payload bytes of those records (frame headers excluded).
    pub bytes: u64,
    /// Every cut made: torn/corrupt tails (file truncated at `offset`) and
    /// segments quarantined for a bad header (`offset` 0, the whole file
    /// counted as dropped, `reason` starting with "bad segment header").
    pub truncated: Vec<Truncation>,
}

/// One repair made by replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Segment that was repaired.
    pub segment: SegmentId,
    /// Byte offset of the cut: the end of the last good record.
    pub offset: u64,
    /// Bytes removed from the segment (or quarantined, for bad headers).
    pub dropped_bytes: u64,
    /// Human-readable cause ("crc mismatch ...", "partial payload ...", ...).
    pub reason: String,
}

/// Reads every segment in `dir` in ascending id order, calling
/// `f(segment_id, record_bytes)` for each valid record.
///
/// Torn or corrupt tails are cut off (the file is truncated at the end of the
/// last good record and fsynced); segments with an unreadable header are
/// renamed to `<name>.corrupt`. Both are logged with `tracing::warn!` and
/// listed in [`ReplayReport::truncated`]. A missing directory replays nothing.
/// If `f` fails, replay stops and returns [`WalError::Callback`].
///
/// Do not call this on the directory of an open [`crate::Wal`] unless you
/// restrict it to closed segments with [`replay_before`]: the segment being
/// written could look torn and be truncated under the writer.
pub fn replay(
    dir: &Path,
    f: impl FnMut(SegmentId, &[u8]) -> std::result::Result<(), String>,
) -> Result<ReplayReport> {
    replay_impl(dir, None, f)
}

/// Like [`replay`] but only reads segments with id `< end`. Typical use:
/// open a [`crate::Wal`] first, then replay everything before
/// [`crate::Wal::current_segment`], then delete those segments.
pub fn replay_before(
    dir: &Path,
    end: SegmentId,
    f: impl FnMut(SegmentId, &[u8]) -> std::result::Result<(), String>,
) -> Result<ReplayReport> {
    replay_impl(dir, Some(end), f)
}

fn replay_impl(
    dir: &Path,
    end: Option<SegmentId>,
    mut f: impl FnMut(SegmentId, &[u8]) -> std::result::Result<(), String>,
) -> Result<ReplayReport> {
    let mut report = ReplayReport::default();
    for id in list_segments(dir)? {
        if end.is_some_and(|end| id >= end) {
            break;
        }
        replay_segment(dir, id, &mut f, &mut report)?;
    }
    debug!(
        dir = %dir.display(),
        segments = report.segments,
        records = report.records,
        bytes = report.bytes,
        repairs = report.truncated.len(),
        "wal replay finished"
    );
    Ok(report)
}

fn replay_segment(
    dir: &Path,
    id: SegmentId,
    f: &mut impl FnMut(SegmentId, &[u8]) -> std::result::Result<(), String>,
    report: &mut ReplayReport,
) -> Result<()> {
    let path = segment_path(dir, id);
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(file) => file,
        // Deleted between listing and opening: nothing to replay.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WalError::io("open segment", &path, e)),
    };
    let io_err = |op: &'static str| {
        let path = &path;
        move |e: io::Error| WalError::io(op, path, e)
    };
    let file_len = file.metadata().map_err(io_err("stat segment"))?.len();
    let mut reader = BufReader::with_capacity(64 * 1024, &file);

    let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
    let n = read_full(&mut reader, &mut header).map_err(io_err("read segment header"))?;
    if let Err(reason) = decode_segment_header(&header[..n]) {
        drop(reader);
        drop(file);
        let target = quarantine(dir, &path)?;
        warn!(
            segment = id,
            path = %path.display(),
            renamed_to = %target.display(),
            %reason,
            "wal segment has a bad header; quarantined"
        );
        report.truncated.push(Truncation {
            segment: id,
            offset: 0,
            dropped_bytes: file_len,
            reason: format!(
                "bad segment header: {reason}; renamed to {}",
                target.display()
            ),
        });
        return Ok(());
    }
    report.segments += 1;

    let mut pos = SEGMENT_HEADER_LEN;
    let mut payload = Vec::new();
    let cut = loop {
        let mut frame = [0u8; RECORD_HEADER_LEN as usize];
        let n = read_full(&mut reader, &mut frame).map_err(io_err("read record header"))?;
        if n == 0 {
            break None;
        }
        if n < frame.len() {
            break Some(format!(
                "partial record header: {n} of {RECORD_HEADER_LEN} bytes"
            ));
        }
        let hdr = RecordHeader::decode(frame);
        let len = u64::from(hdr.len);
        // Never written (`Wal::append` refuses empty records): 8 zero bytes, the CRC of
        // nothing being 0, are a zero-filled region left by a crash, not a record.
        if len == 0 {
            break Some("zero-length record (a zero-filled region, never written)".to_string());
        }
        if len > MAX_RECORD_BYTES as u64 {
            break Some(format!(
                "absurd record length {len} (max {MAX_RECORD_BYTES})"
            ));
        }
        // Bound the allocation by what the file can actually hold.
        let remaining = file_len.saturating_sub(pos + RECORD_HEADER_LEN);
        if len > remaining {
            break Some(format!(
                "partial payload: record length {len} but only {remaining} bytes remain"
            ));
        }
        payload.clear();
        payload.resize(len as usize, 0);
        let n = read_full(&mut reader, &mut payload).map_err(io_err("read record payload"))?;
        if n < payload.len() {
            break Some(format!(
                "partial payload: record length {len} but only {n} bytes could be read"
            ));
        }
        let crc = crc32fast::hash(&payload);
        if crc != hdr.crc {
            break Some(format!(
                "crc mismatch: stored {:#010x}, computed {crc:#010x}",
                hdr.crc
            ));
        }
        f(id, &payload).map_err(WalError::Callback)?;
        report.records += 1;
        report.bytes += len;
        pos += RECORD_HEADER_LEN + len;
    };
    drop(reader);

    if let Some(reason) = cut {
        truncate(&file, pos).map_err(io_err("truncate segment"))?;
        let dropped_bytes = file_len - pos;
        warn!(
            segment = id,
            path = %path.display(),
            offset = pos,
            dropped_bytes,
            %reason,
            "wal segment has a torn or corrupt tail; truncated"
        );
        report.truncated.push(Truncation {
            segment: id,
            offset: pos,
            dropped_bytes,
            reason,
        });
    }
    Ok(())
}

fn truncate(file: &File, len: u64) -> io::Result<()> {
    file.set_len(len)?;
    file.sync_all()
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests;
