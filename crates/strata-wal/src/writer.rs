//! The appender: segment files, rotation and group commit.
//!
//! # Group commit
//!
//! Appends happen in two phases:
//!
//! 1. Under the `writer` mutex the record frame is written to the current
//!    segment with one `writev` call and given a sequence number
//!    (`write_seq`, starting at 1).
//! 2. With [`FsyncPolicy::Always`] the appender then waits until
//!    `synced_seq >= its sequence number`. The first waiter that finds no
//!    fsync in progress becomes the leader: it snapshots the current file and
//!    `write_seq` (under the writer mutex), runs `fdatasync` without holding
//!    any lock, then publishes the snapshot as `synced_seq` and wakes all
//!    waiters. Waiters whose write was covered return with
//!    `shared_fsync = true`; the rest elect a new leader.
//!
//! Rotation fsyncs the old segment while holding the writer mutex and then
//! advances `synced_seq` to the last write in it, so a leader's snapshot of the
//! current file always covers every write with a sequence number up to its
//! target. Lock order is always `writer` then `sync`; the leader never holds
//! `sync` while taking `writer`.
//!
//! An fsync failure poisons the log: dirty pages may have been dropped by the
//! kernel, so retrying fsync could falsely report success. Every later append
//! (and every waiter not yet covered) fails with [`WalError::Poisoned`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};
use tracing::{debug, error, info};

use crate::dir::{fsync_dir, highest_used_id, list_segments, segment_path};
use crate::error::{Result, WalError};
use crate::format::{
    encode_segment_header, encoded_len, frame_header, MAX_RECORD_BYTES, SEGMENT_HEADER_LEN,
};
use crate::SegmentId;

/// Default segment size limit used by [`WalConfig::new`] (128 MiB).
pub const DEFAULT_SEGMENT_MAX_BYTES: u64 = 128 * 1024 * 1024;

/// Configuration of a [`Wal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalConfig {
    /// Directory holding the segment files; created if missing.
    pub dir: PathBuf,
    /// Rotate before a record would make the current segment file (header
    /// included) larger than this. A record that alone exceeds the limit is
    /// written to a segment of its own.
    pub segment_max_bytes: u64,
    /// When appends are made durable.
    pub fsync: FsyncPolicy,
    /// Fault injection: every fsync of a segment first sleeps this long, as on a slow or
    /// overloaded disk. Zero (the default) outside tests, which set it to show that a slow
    /// disk turns into backpressure rather than into memory growth.
    pub fsync_delay: Duration,
}

impl WalConfig {
    /// `dir` with [`DEFAULT_SEGMENT_MAX_BYTES`] and [`FsyncPolicy::Always`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WalConfig {
            dir: dir.into(),
            segment_max_bytes: DEFAULT_SEGMENT_MAX_BYTES,
            fsync: FsyncPolicy::Always,
            fsync_delay: Duration::ZERO,
        }
    }
}

/// When appended records are forced to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Every [`Wal::append`] returns only after its record is fdatasync'ed
    /// (shared between concurrent appenders).
    Always,
    /// Appends never fsync; durability is left to the OS (or explicit
    /// [`Wal::sync`] calls). Segment creation and rotation still fsync.
    Never,
}

/// Result of a successful [`Wal::append`].
#[derive(Debug, Clone, Copy)]
pub struct AppendInfo {
    /// Segment the record was written to.
    pub segment: SegmentId,
    /// Time this caller spent in or waiting for fsync; `None` with
    /// [`FsyncPolicy::Never`].
    pub fsync: Option<Duration>,
    /// True if another thread's fsync (or a rotation) made this write durable.
    pub shared_fsync: bool,
}

/// An append-only write-ahead log. `Send + Sync`; share it as `Arc<Wal>`.
pub struct Wal {
    dir: PathBuf,
    segment_max_bytes: u64,
    policy: FsyncPolicy,
    fsync_delay: Duration,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
    synced: Condvar,
    current: AtomicU64,
    poison: OnceLock<String>,
}

struct Writer {
    file: Arc<File>,
    path: PathBuf,
    segment: SegmentId,
    /// Bytes in the current segment file, header included.
    size: u64,
    /// Records in the current segment.
    records: u64,
    /// Sequence number of the last completed write (global, never reset).
    write_seq: u64,
}

struct SyncState {
    /// Every write with a sequence number `<=` this is durable.
    synced_seq: u64,
    /// A leader is currently running fsync.
    syncing: bool,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("segment_max_bytes", &self.segment_max_bytes)
            .field("policy", &self.policy)
            .field("current_segment", &self.current_segment())
            .field("poisoned", &self.poison.get())
            .finish()
    }
}

impl Wal {
    /// Creates `cfg.dir` if needed and opens a new segment whose id is one
    /// more than the highest id in the directory (quarantined `.corrupt`
    /// segments included; 1 for an empty directory). Existing segments are
    /// left untouched. The directory is fsynced after the file is created.
    pub fn open(cfg: WalConfig) -> Result<Wal> {
        let WalConfig {
            dir,
            segment_max_bytes,
            fsync,
            fsync_delay,
        } = cfg;
        fs::create_dir_all(&dir).map_err(|e| WalError::io("create directory", &dir, e))?;
        let id = match highest_used_id(&dir)? {
            None => 1,
            Some(max) => next_id(max, &dir)?,
        };
        let (file, path) = create_segment(&dir, id)?;
        info!(dir = %dir.display(), segment = id, ?fsync, segment_max_bytes, "wal opened");
        Ok(Wal {
            dir,
            segment_max_bytes,
            policy: fsync,
            fsync_delay,
            writer: Mutex::new(Writer {
                file: Arc::new(file),
                path,
                segment: id,
                size: SEGMENT_HEADER_LEN,
                records: 0,
                write_seq: 0,
            }),
            sync: Mutex::new(SyncState {
                synced_seq: 0,
                syncing: false,
            }),
            synced: Condvar::new(),
            current: AtomicU64::new(id),
            poison: OnceLock::new(),
        })
    }

    /// Appends one record. With [`FsyncPolicy::Always`] returns only after
    /// the record is on disk; concurrent appenders share fsyncs. Blocking.
    ///
    /// Rotates first if the record would push the current segment past
    /// `segment_max_bytes` (unless the segment holds no record yet). Records
    /// over [`MAX_RECORD_BYTES`] are rejected with
    /// [`WalError::RecordTooLarge`], empty ones with [`WalError::EmptyRecord`].
    pub fn append(&self, record: &[u8]) -> Result<AppendInfo> {
        self.append_parts(&[record])
    }

    /// [`append`](Self::append) of the record made of `parts` in order, written straight from
    /// them (one `writev`) instead of being copied into one buffer first: the same frame on
    /// disk as `append` of their concatenation.
    pub fn append_parts(&self, parts: &[&[u8]]) -> Result<AppendInfo> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len == 0 {
            return Err(WalError::EmptyRecord);
        }
        if len > MAX_RECORD_BYTES {
            return Err(WalError::RecordTooLarge {
                len,
                max: MAX_RECORD_BYTES,
            });
        }
        // The header (length and CRC) is computed outside the lock.
        let header = frame_header(parts);
        let (seq, segment) = {
            let mut w = self.writer.lock();
            self.check_poison()?;
            let frame_len = encoded_len(len);
            if w.records > 0 && w.size.saturating_add(frame_len) > self.segment_max_bytes {
                self.rotate_locked(&mut w)?;
            }
            if let Err(e) = write_frame(&w.file, &header, parts) {
                let err = WalError::io("write record to", &w.path, e);
                // Cut off any partial frame so later records stay reachable
                // by replay; if that fails the file is in an unknown state.
                if let Err(e) = w.file.set_len(w.size) {
                    self.set_poison(&WalError::io("undo partial write in", &w.path, e));
                }
                return Err(err);
            }
            w.size += frame_len;
            w.records += 1;
            w.write_seq += 1;
            (w.write_seq, w.segment)
        };
        match self.policy {
            FsyncPolicy::Never => Ok(AppendInfo {
                segment,
                fsync: None,
                shared_fsync: false,
            }),
            FsyncPolicy::Always => {
                let (waited, shared) = self.wait_synced(seq)?;
                Ok(AppendInfo {
                    segment,
                    fsync: Some(waited),
                    shared_fsync: shared,
                })
            }
        }
    }

    /// Makes every record appended so far durable, whatever the policy.
    pub fn sync(&self) -> Result<()> {
        let seq = self.writer.lock().write_seq;
        self.wait_synced(seq).map(|_| ())
    }

    /// Fsyncs and closes the current segment and starts a new one; returns
    /// the new segment id.
    pub fn rotate(&self) -> Result<SegmentId> {
        let mut w = self.writer.lock();
        self.check_poison()?;
        self.rotate_locked(&mut w)
    }

    /// `Some(reason)` once an fsync or write failure made the log refuse every append
    /// ([`WalError::Poisoned`]).
    pub fn poisoned(&self) -> Option<String> {
        self.poison.get().cloned()
    }

    /// Id of the segment currently appended to.
    pub fn current_segment(&self) -> SegmentId {
        self.current.load(Ordering::Acquire)
    }

    /// Directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deletes every segment file with id `< id`, never the current segment
    /// (or anything newer), fsyncs the directory, and returns how many files
    /// were deleted. Quarantined `.corrupt` files are not touched.
    pub fn delete_segments_before(&self, id: SegmentId) -> Result<usize> {
        // The current id only grows, so anything below this snapshot is closed.
        let limit = id.min(self.current_segment());
        let mut deleted = 0;
        let mut first_err = None;
        for seg in list_segments(&self.dir)? {
            if seg >= limit {
                break;
            }
            let path = segment_path(&self.dir, seg);
            match fs::remove_file(&path) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    first_err = Some(WalError::io("delete segment", path, e));
                    break;
                }
            }
        }
        if deleted > 0 {
            fsync_dir(&self.dir)?;
            debug!(dir = %self.dir.display(), before = limit, deleted, "wal segments deleted");
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(deleted),
        }
    }

    /// Ids of the segment files on disk, ascending.
    pub fn segments(&self) -> Result<Vec<SegmentId>> {
        list_segments(&self.dir)
    }

    fn rotate_locked(&self, w: &mut MutexGuard<'_, Writer>) -> Result<SegmentId> {
        let next = next_id(w.segment, &self.dir)?;
        if let Err(e) = self.fsync(&w.file) {
            let err = WalError::io("fsync segment", &w.path, e);
            self.set_poison(&err);
            return Err(err);
        }
        // Everything written so far lives in the file just synced (or older,
        // already synced segments).
        {
            let mut s = self.sync.lock();
            s.synced_seq = s.synced_seq.max(w.write_seq);
        }
        self.synced.notify_all();

        let (file, path) = create_segment(&self.dir, next)?;
        let old = w.segment;
        w.file = Arc::new(file);
        w.path = path;
        w.segment = next;
        w.size = SEGMENT_HEADER_LEN;
        w.records = 0;
        self.current.store(next, Ordering::Release);
        debug!(dir = %self.dir.display(), from = old, to = next, "wal segment rotated");
        Ok(next)
    }

    /// Waits until write `seq` is durable, running the fsync ourselves if no
    /// other thread is. Returns the time spent and whether another thread's
    /// fsync covered the write.
    fn wait_synced(&self, seq: u64) -> Result<(Duration, bool)> {
        let start = Instant::now();
        let mut s = self.sync.lock();
        loop {
            if s.synced_seq >= seq {
                return Ok((start.elapsed(), true));
            }
            self.check_poison()?;
            if s.syncing {
                self.synced.wait(&mut s);
                continue;
            }
            s.syncing = true;
            let res = MutexGuard::unlocked(&mut s, || self.leader_fsync());
            s.syncing = false;
            match res {
                Ok(target) => {
                    debug_assert!(target >= seq);
                    s.synced_seq = s.synced_seq.max(target);
                    drop(s);
                    self.synced.notify_all();
                    return Ok((start.elapsed(), false));
                }
                Err(err) => {
                    self.set_poison(&err);
                    drop(s);
                    self.synced.notify_all();
                    return Err(err);
                }
            }
        }
    }

    /// Fsyncs the current segment; returns the highest sequence number the
    /// fsync covers.
    fn leader_fsync(&self) -> Result<u64> {
        let (file, path, target) = {
            let w = self.writer.lock();
            (Arc::clone(&w.file), w.path.clone(), w.write_seq)
        };
        self.fsync(&file)
            .map_err(|e| WalError::io("fsync segment", path, e))?;
        Ok(target)
    }

    /// `fdatasync` of a segment, after the injected delay if one is configured.
    fn fsync(&self, file: &File) -> io::Result<()> {
        if !self.fsync_delay.is_zero() {
            std::thread::sleep(self.fsync_delay);
        }
        file.sync_data()
    }

    fn check_poison(&self) -> Result<()> {
        match self.poison.get() {
            Some(reason) => Err(WalError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    fn set_poison(&self, err: &WalError) {
        error!(dir = %self.dir.display(), error = %err, "wal poisoned; refusing further appends");
        let _ = self.poison.set(err.to_string());
    }
}

fn next_id(id: SegmentId, dir: &Path) -> Result<SegmentId> {
    id.checked_add(1).ok_or_else(|| {
        WalError::io(
            "allocate segment id in",
            dir,
            io::Error::other("segment id space exhausted"),
        )
    })
}

/// Creates segment `id` (failing if it exists), writes and fsyncs its header,
/// then fsyncs the directory.
fn create_segment(dir: &Path, id: SegmentId) -> Result<(File, PathBuf)> {
    let path = segment_path(dir, id);
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| WalError::io("create segment", &path, e))?;
    let init = (&file)
        .write_all(&encode_segment_header())
        .and_then(|()| file.sync_all())
        .map_err(|e| WalError::io("write segment header to", &path, e))
        .and_then(|()| fsync_dir(dir));
    if let Err(e) = init {
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok((file, path))
}

/// Writes a record frame, `header` then `parts`, with `writev`: one call unless the kernel
/// takes fewer bytes (or more slices than `IOV_MAX` are given), then again for the rest.
fn write_frame(mut file: &File, header: &[u8], parts: &[&[u8]]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(parts.len() + 1);
    slices.push(IoSlice::new(header));
    slices.extend(
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p)),
    );
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
