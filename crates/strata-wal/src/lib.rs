//! # strata-wal
//!
//! A write-ahead log of opaque byte records stored in segment files. The
//! ingester appends every accepted push as one record and acknowledges the
//! client only after [`Wal::append`] returns (which, with
//! [`FsyncPolicy::Always`], means the record was fdatasync'ed). After a crash,
//! [`replay`] reads the records back; the caller then deletes replayed
//! segments with [`Wal::delete_segments_before`]. The crate knows nothing
//! about what the records contain.
//!
//! ## On-disk format
//!
//! A WAL directory holds segment files named `{id:020}.wal`: the segment id
//! as zero-padded 20-digit decimal, so lexical order equals numeric order.
//! Other files are ignored; quarantined segments are named
//! `{id:020}.wal.corrupt` (or `.corrupt.N` to avoid overwriting).
//!
//! Each segment starts with a 16-byte header:
//!
//! | offset | size | content                          |
//! |-------:|-----:|----------------------------------|
//! | 0      | 8    | magic `b"STRATWAL"`              |
//! | 8      | 2    | format version, u16 LE, `1`      |
//! | 10     | 6    | reserved, written as zero, ignored on read |
//!
//! followed by zero or more records, back to back:
//!
//! | offset | size  | content                                   |
//! |-------:|------:|-------------------------------------------|
//! | 0      | 4     | payload length `n`, u32 LE                |
//! | 4      | 4     | CRC-32 (IEEE, `crc32fast`) of the payload, u32 LE |
//! | 8      | `n`   | payload                                   |
//!
//! Records are never empty ([`Wal::append`] refuses them): a zero length is what
//! a zero-filled region (a crash after the file grew but before its data
//! landed) reads as, and the CRC of nothing is 0, so replay treats it as a torn
//! tail. Lengths above [`MAX_RECORD_BYTES`] (256 MiB) are never written.
//!
//! ## Invariants
//!
//! * Segment files are append-only. Each record frame is written with a single
//!   `writev` call (repeated only for what a short write left); a failed write
//!   is undone with `ftruncate` (or the log is poisoned if that fails too).
//! * A segment is created with `create_new`, its header written and fsynced,
//!   and the directory fsynced, before any record goes into it. An open
//!   [`Wal`] always starts a *new* segment (highest id in the directory + 1,
//!   `.corrupt` files included), so existing segments are never written again.
//! * Segment ids only grow; a segment with a smaller id holds older records.
//! * With [`FsyncPolicy::Always`], when `append` returns `Ok` the record and
//!   every record before it in the same log are durable.
//! * After an fsync error the log refuses all further appends
//!   ([`WalError::Poisoned`]); reopen it to continue in a fresh segment.
//!
//! ## Recovery rules (applied by [`replay`])
//!
//! Segments are read in ascending id order. Within a segment, records are
//! read until the end of the file or the first record that is not intact:
//!
//! * fewer than 8 bytes left for the frame header (partial length header),
//! * a length of 0 (zero-filled region; see above),
//! * a length above [`MAX_RECORD_BYTES`] (absurd length; nothing is allocated),
//! * a length larger than what remains in the file (partial payload),
//! * a CRC mismatch.
//!
//! The file is then truncated at the end of the last good record and fsynced,
//! a `tracing::warn!` is logged, and a [`Truncation`] is listed in the
//! [`ReplayReport`]; everything after the cut is dropped (a crash can only tear
//! the tail, so anything after a bad frame is not trustworthy). A second
//! replay of the same directory therefore reports no truncation. Replay then
//! continues with the next segment.
//!
//! A segment whose header is short, has the wrong magic or an unknown version
//! is renamed to `<name>.corrupt` (never deleted) and reported as a
//! [`Truncation`] with offset 0 whose reason starts with
//! `"bad segment header"`. Replay never panics on bad input.

mod dir;
mod error;
pub mod format;
mod replay;
mod writer;

pub use dir::{list_segments, segment_path};
pub use error::{Result, WalError};
pub use format::{segment_file_name, MAX_RECORD_BYTES};
pub use replay::{replay, replay_before, ReplayReport, Truncation};
pub use writer::{AppendInfo, FsyncPolicy, Wal, WalConfig, DEFAULT_SEGMENT_MAX_BYTES};

/// Identifier of a segment file; larger ids hold newer records.
pub type SegmentId = u64;

#[cfg(test)]
mod test_util;
