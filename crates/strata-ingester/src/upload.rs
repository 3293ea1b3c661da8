//! Completed blocks on the ingester's local disk, and their upload to the object store.
//!
//! A cut block is first written to a local directory (`<wal.path>/blocks`, same layout as the
//! object store: `<tenant>/<block>/{data.parquet,bloom,meta.json}`, `meta.json` last). Once it
//! is complete there, its WAL segments may be deleted: the local copy is the durable one. The
//! block is then copied to the object store, `data.parquet` and `bloom` first and `meta.json`
//! last, so a querier never lists a partly uploaded block. A failed upload is retried with
//! exponential backoff (1 s doubling to 60 s, from the injected clock) for as long as it takes;
//! meanwhile the block is queryable from the local copy. The local copy is deleted only after
//! the upload succeeded and `complete_block_timeout` has passed.
//!
//! Where the object store is a local directory ([`strata_storage::LocalTarget`], set with
//! [`Uploader::link_into`]: `make run`'s layout), `data.parquet` is hard-linked into it rather
//! than read and written again (one page-cache copy of every block less); the link is made under
//! the store's staging name (`<file>#<digits>`, which the store does not list) and renamed into
//! place, so it replaces an earlier upload of the same block whole. A link that fails falls back
//! to the copy: for this block, and for every later one when no link can be made there (the
//! store on another filesystem).
//!
//! At start, complete local blocks that were not uploaded (or not yet deleted) are queued
//! again; uploading twice is harmless (same keys, same bytes). Local block directories without
//! `meta.json` are leftovers of a crash mid-write: their data is still in the WAL, so they are
//! deleted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use object_store::local::LocalFileSystem;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use parking_lot::Mutex;
use strata_block::{parse_meta, BlockMeta};
use strata_common::{BlockId, SharedClock, TenantId};
use strata_storage::{BlockPaths, LocalTarget, ObjectPath, SharedStore};

const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Multipart part size when copying `data.parquet` to the object store.
const PART_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("local block directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] object_store::Error),
    #[error("local block {path}: {message}")]
    Meta { path: String, message: String },
}

fn parse_local_meta(
    bytes: &[u8],
    path: &std::path::Path,
    tenant: &TenantId,
    id: BlockId,
) -> Result<BlockMeta, UploadError> {
    let bad = |message: String| UploadError::Meta {
        path: path.display().to_string(),
        message,
    };
    let meta = parse_meta(bytes, &path.display().to_string()).map_err(|e| bad(e.to_string()))?;
    meta.check_format().map_err(|e| bad(e.to_string()))?;
    if meta.block_id != id || meta.tenant_id != tenant.as_str() {
        return Err(bad("names another block or tenant".into()));
    }
    Ok(meta)
}

#[derive(Debug, Clone)]
struct Pending {
    attempts: u32,
    next_try: SystemTime,
    last_error: Option<String>,
}

/// What [`Uploader::upload_due`] did.
#[derive(Debug, Default)]
pub struct UploadReport {
    pub uploaded: Vec<BlockMeta>,
    pub failed: usize,
}

/// Local blocks and the queue of uploads.
pub struct Uploader {
    local: SharedStore,
    /// `local`, for the files behind its keys.
    local_fs: Arc<LocalFileSystem>,
    remote: SharedStore,
    /// The object store's own directory, when it is one: `data.parquet` is linked into it.
    link: OnceLock<LocalTarget>,
    /// Cleared by the first link that fails: later blocks are copied.
    linking: AtomicBool,
    clock: SharedClock,
    pending: Mutex<BTreeMap<(TenantId, BlockId), (BlockMeta, Pending)>>,
}

impl Uploader {
    /// Opens (creating) the local block directory, deletes incomplete local blocks and returns
    /// the complete ones, which are queued for upload. Blocking file I/O (a directory walk).
    pub fn open(
        dir: &std::path::Path,
        remote: SharedStore,
        clock: SharedClock,
    ) -> Result<(Self, Vec<BlockMeta>), UploadError> {
        let io = |source| UploadError::Dir {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let local_fs =
            Arc::new(LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true));
        let up = Self {
            local: local_fs.clone(),
            local_fs,
            remote,
            link: OnceLock::new(),
            linking: AtomicBool::new(true),
            clock,
            pending: Mutex::new(BTreeMap::new()),
        };
        let mut found = Vec::new();
        for tenant_dir in std::fs::read_dir(dir).map_err(io)?.flatten() {
            let name = tenant_dir.file_name();
            let Some(tenant) = name.to_str().and_then(|n| TenantId::new(n).ok()) else {
                continue;
            };
            let Ok(blocks) = std::fs::read_dir(tenant_dir.path()) else {
                continue;
            };
            for block_dir in blocks.flatten() {
                let path = block_dir.path();
                let Some(id) = block_dir
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<BlockId>().ok())
                else {
                    continue;
                };
                let meta_path = path.join("meta.json");
                match std::fs::read(&meta_path) {
                    Ok(bytes) => match parse_local_meta(&bytes, &meta_path, &tenant, id) {
                        Ok(meta) => {
                            up.enqueue(&meta);
                            found.push(meta);
                        }
                        Err(e) => tracing::error!(tenant = %tenant, block = %id, error = %e,
                            "unreadable local block; leaving it in place"),
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        tracing::warn!(tenant = %tenant, block = %id,
                            "deleting incomplete local block (its data is in the WAL)");
                        if let Err(e) = std::fs::remove_dir_all(&path) {
                            tracing::warn!(path = %path.display(), error = %e,
                                "deleting incomplete local block");
                        }
                    }
                    Err(e) => tracing::error!(path = %meta_path.display(), error = %e,
                        "reading local block meta"),
                }
            }
        }
        Ok((up, found))
    }

    /// The local block store (blocks are written here first).
    pub fn local(&self) -> SharedStore {
        self.local.clone()
    }

    /// Links uploads of `data.parquet` into `target`, the directory behind the object store
    /// (see the module docs). Only the first call counts.
    pub fn link_into(&self, target: LocalTarget) {
        let _ = self.link.set(target);
    }

    /// Queues a complete local block for upload, due now.
    pub fn enqueue(&self, meta: &BlockMeta) {
        let Ok(paths) = meta.paths() else { return };
        self.pending.lock().insert(
            (paths.tenant, paths.block),
            (
                meta.clone(),
                Pending {
                    attempts: 0,
                    next_try: self.clock.now(),
                    last_error: None,
                },
            ),
        );
    }

    /// Whether a block still waits for its upload.
    pub fn is_pending(&self, tenant: &TenantId, block: BlockId) -> bool {
        self.pending.lock().contains_key(&(tenant.clone(), block))
    }

    /// Blocks waiting for upload.
    pub fn pending_count(&self) -> usize {
        self.pending.lock().len()
    }

    /// The last upload error, while any block is pending after a failure.
    pub fn last_error(&self) -> Option<String> {
        self.pending
            .lock()
            .values()
            .filter_map(|(_, p)| p.last_error.clone())
            .next()
    }

    /// Uploads every block whose retry time has come. Failures are rescheduled with backoff.
    pub async fn upload_due(&self) -> UploadReport {
        self.upload_where(false).await
    }

    /// Tries every pending block now, whatever its backoff (at shutdown).
    pub async fn upload_all(&self) -> UploadReport {
        self.upload_where(true).await
    }

    async fn upload_where(&self, all: bool) -> UploadReport {
        let now = self.clock.now();
        let due: Vec<BlockMeta> = self
            .pending
            .lock()
            .values()
            .filter(|(_, p)| all || p.next_try <= now)
            .map(|(m, _)| m.clone())
            .collect();
        let mut report = UploadReport::default();
        for meta in due {
            let Ok(paths) = meta.paths() else { continue };
            let key = (paths.tenant.clone(), paths.block);
            match self.copy(&paths).await {
                Ok(()) => {
                    self.pending.lock().remove(&key);
                    report.uploaded.push(meta);
                }
                Err(e) => {
                    report.failed += 1;
                    let mut pending = self.pending.lock();
                    if let Some((_, p)) = pending.get_mut(&key) {
                        p.attempts += 1;
                        let backoff = BACKOFF_MIN
                            .saturating_mul(1u32 << p.attempts.min(6))
                            .min(BACKOFF_MAX);
                        p.next_try = self.clock.now() + backoff;
                        p.last_error = Some(e.to_string());
                        tracing::warn!(tenant = %paths.tenant, block = %paths.block,
                            attempts = p.attempts, retry_in = ?backoff, error = %e,
                            "uploading block failed; kept locally");
                    }
                }
            }
        }
        report
    }

    async fn copy(&self, paths: &BlockPaths) -> Result<(), UploadError> {
        // data.parquet linked or copied; the small objects in one put each; meta.json last.
        let data = paths.data();
        if !self.linked(&data).await {
            self.copy_data(&data).await?;
        }
        for p in [paths.bloom(), paths.meta()] {
            let bytes = self.local.get(&p).await?.bytes().await?;
            self.remote.put(&p, PutPayload::from(bytes)).await?;
        }
        Ok(())
    }

    /// Hard-links the local file of `key` into the object store's directory, if there is one
    /// (see the module docs); false when the caller has to copy it.
    async fn linked(&self, key: &ObjectPath) -> bool {
        let Some(target) = self.link.get() else {
            return false;
        };
        if !self.linking.load(Ordering::Relaxed) {
            return false;
        }
        let (Ok(src), Some(dst)) = (self.local_fs.path_to_filesystem(key), target.file_of(key))
        else {
            return false;
        };
        match tokio::task::spawn_blocking(move || link_file(&src, &dst)).await {
            Ok(Ok(())) => true,
            // The store's directory cannot take links from here: copy from now on.
            Ok(Err(e)) if cannot_link(&e) => {
                self.linking.store(false, Ordering::Relaxed);
                tracing::info!(error = %e, "block uploads are copied (the store's directory cannot take links)");
                false
            }
            // Anything else (a full disk, say) only makes this block copied.
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "linking a block into the store failed; copying it");
                false
            }
            Err(_) => false,
        }
    }

    /// Copies the local object `data` to the object store, in parts of `PART_BYTES`, each one
    /// ranged read (a streamed `get` of a local file reads 8 KiB per blocking task, which cost
    /// more CPU than the block's bytes are worth).
    async fn copy_data(&self, data: &ObjectPath) -> Result<(), UploadError> {
        let size = self.local.head(data).await?.size;
        let upload = self.remote.put_multipart(data).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let copied: Result<(), UploadError> = async {
            let mut start = 0;
            while start < size {
                let end = size.min(start + PART_BYTES as u64);
                let part = self.local.get_range(data, start..end).await?;
                writer.wait_for_capacity(4).await?;
                writer.put(part);
                start = end;
            }
            Ok(())
        }
        .await;
        match copied {
            Ok(()) => {
                writer.finish().await?;
            }
            Err(e) => {
                let _ = writer.abort().await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Deletes a block's local objects, `meta.json` first.
    pub async fn delete_local(&self, tenant: &TenantId, block: BlockId) {
        let paths = BlockPaths::new(tenant.clone(), block);
        for p in [paths.meta(), paths.bloom(), paths.data()] {
            match self.local.delete(&p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => tracing::warn!(path = %p, error = %e, "deleting local block object"),
            }
        }
    }
}

/// Whether a failed link means that no link can be made into the store's directory (another
/// filesystem, or one without hard links), rather than a failure of this one.
fn cannot_link(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::CrossesDevices | ErrorKind::PermissionDenied | ErrorKind::Unsupported
    )
}

/// Links `src` at `dst` (replacing any file there): first under a staging name next to `dst`,
/// then renamed into place.
fn link_file(src: &std::path::Path, dst: &std::path::Path) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = dst
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut staged = dst.as_os_str().to_owned();
    staged.push(format!(
        "#{}{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::hard_link(src, &staged)?;
    let renamed = std::fs::rename(&staged, dst);
    // After a failure, and when `dst` already was this file (a block uploaded again: `rename`
    // then does nothing), the staging name is still there.
    let _ = std::fs::remove_file(&staged);
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `data.parquet` of several parts (and an uneven last one) reaches the remote store
    /// byte for byte, with the small objects beside it.
    #[tokio::test]
    async fn copy_sends_every_part_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let remote: SharedStore = Arc::new(object_store::memory::InMemory::new());
        let clock: SharedClock = Arc::new(strata_common::ManualClock::default());
        let (up, found) = Uploader::open(dir.path(), remote.clone(), clock).unwrap();
        assert!(found.is_empty());
        let paths = BlockPaths::new(TenantId::new("t").unwrap(), BlockId::new_random());
        let data: Vec<u8> = (0..2 * PART_BYTES + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        for (p, bytes) in [
            (paths.data(), data.clone()),
            (paths.bloom(), b"bloom".to_vec()),
            (paths.meta(), b"{}".to_vec()),
        ] {
            up.local.put(&p, PutPayload::from(bytes)).await.unwrap();
        }
        up.copy(&paths).await.unwrap();
        let got = read(&remote, &paths.data()).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "data.parquet differs after the copy");
        for (p, want) in [(paths.bloom(), &b"bloom"[..]), (paths.meta(), &b"{}"[..])] {
            assert_eq!(&read(&remote, &p).await[..], want);
        }
    }

    /// A local store under `dir`, with `prefix`, and its directory.
    fn local_store(dir: &std::path::Path, prefix: &str) -> (SharedStore, LocalTarget) {
        let mut cfg = strata_config::StorageConfig {
            backend: strata_config::StorageBackend::Local,
            prefix: prefix.to_string(),
            ..Default::default()
        };
        cfg.local.path = dir.to_path_buf();
        let store = strata_storage::build_store(&cfg).unwrap();
        (store, LocalTarget::of(&cfg).unwrap())
    }

    /// Puts a complete block into the uploader's local directory.
    async fn local_block(up: &Uploader, data: &[u8]) -> BlockPaths {
        let paths = BlockPaths::new(TenantId::new("t").unwrap(), BlockId::new_random());
        for (p, bytes) in [
            (paths.data(), data.to_vec()),
            (paths.bloom(), b"bloom".to_vec()),
            (paths.meta(), b"{}".to_vec()),
        ] {
            up.local.put(&p, PutPayload::from(bytes)).await.unwrap();
        }
        paths
    }

    /// Into a local store on the same filesystem, `data.parquet` is linked, not copied: the
    /// store reads the same bytes from the same file, uploading again replaces it whole, and no
    /// staging name is left behind.
    #[tokio::test]
    async fn a_local_store_gets_data_linked() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (remote, target) = local_store(&dir.path().join("store"), "pre/fix");
        let clock: SharedClock = Arc::new(strata_common::ManualClock::default());
        let (up, _) = Uploader::open(&dir.path().join("local"), remote.clone(), clock).unwrap();
        up.link_into(target);
        let paths = local_block(&up, b"parquet bytes").await;
        up.copy(&paths).await.unwrap();
        up.copy(&paths).await.unwrap();
        assert_eq!(&read(&remote, &paths.data()).await[..], b"parquet bytes");
        assert_eq!(&read(&remote, &paths.meta()).await[..], b"{}");
        let local_file = up.local_fs.path_to_filesystem(&paths.data()).unwrap();
        let stored = up.link.get().unwrap().file_of(&paths.data()).unwrap();
        assert_eq!(
            std::fs::metadata(&local_file).unwrap().ino(),
            std::fs::metadata(&stored).unwrap().ino(),
            "one file, two names"
        );
        let mut names: Vec<String> = std::fs::read_dir(stored.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["bloom", "data.parquet", "meta.json"]);
        assert!(up.linking.load(Ordering::Relaxed));
    }

    /// A store on another filesystem (tmpfs under `/dev/shm`, the uploader's directory on the
    /// test's temporary disk) cannot take a link: the block is copied, and so are later ones.
    #[tokio::test]
    async fn a_store_on_another_filesystem_gets_copies() {
        let Ok(shm) = tempfile::tempdir_in("/dev/shm") else {
            eprintln!("no /dev/shm here: nothing to check");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let (remote, target) = local_store(shm.path(), "");
        let clock: SharedClock = Arc::new(strata_common::ManualClock::default());
        let (up, _) = Uploader::open(dir.path(), remote.clone(), clock).unwrap();
        up.link_into(target);
        for _ in 0..2 {
            let paths = local_block(&up, b"parquet bytes").await;
            up.copy(&paths).await.unwrap();
            assert_eq!(&read(&remote, &paths.data()).await[..], b"parquet bytes");
            assert!(
                !up.linking.load(Ordering::Relaxed),
                "linking stops after a failure"
            );
        }
    }

    async fn read(store: &SharedStore, path: &object_store::path::Path) -> bytes::Bytes {
        store.get(path).await.unwrap().bytes().await.unwrap()
    }
}
