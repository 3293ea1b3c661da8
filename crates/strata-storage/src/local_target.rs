//! [`LocalTarget`]: where the configured store keeps an object on the local filesystem, when it
//! is a local directory (`storage.backend: local`), so that a file already on the same
//! filesystem can be linked in place of being copied through the store.
//!
//! The mapping is the store's own ([`LocalFileSystem::path_to_filesystem`], under the configured
//! prefix), so a linked file sits exactly where a `put` of the same key would have written it.

use std::path::PathBuf;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use strata_config::{StorageBackend, StorageConfig};

/// The directory behind a local store; see the module docs.
#[derive(Debug)]
pub struct LocalTarget {
    fs: LocalFileSystem,
    /// The configured key prefix (`storage.prefix`), if any.
    prefix: Option<Path>,
}

impl LocalTarget {
    /// The local directory of `cfg`'s store; `None` for any other backend. The directory is the
    /// one [`crate::build_store`] creates.
    pub fn of(cfg: &StorageConfig) -> Option<Self> {
        if cfg.backend != StorageBackend::Local {
            return None;
        }
        let fs = LocalFileSystem::new_with_prefix(&cfg.local.path).ok()?;
        Some(Self {
            fs,
            prefix: crate::factory::key_prefix(cfg).map(Path::from),
        })
    }

    /// The file the store keeps `key` in (which may not exist yet).
    pub fn file_of(&self, key: &Path) -> Option<PathBuf> {
        let full = match &self.prefix {
            Some(p) => p.parts().chain(key.parts()).collect(),
            None => key.clone(),
        };
        self.fs.path_to_filesystem(&full).ok()
    }
}

#[cfg(test)]
mod tests {
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;

    /// A file put through the configured store (prefix included) is where `file_of` says.
    #[tokio::test]
    async fn file_of_is_where_the_store_puts_the_key() {
        let dir = tempfile::tempdir().unwrap();
        for prefix in ["", "some/prefix"] {
            let mut cfg = StorageConfig {
                backend: StorageBackend::Local,
                prefix: prefix.to_string(),
                ..Default::default()
            };
            cfg.local.path = dir.path().to_path_buf();
            let store = crate::build_store(&cfg).unwrap();
            let key = Path::from("tenant-a/0190e0c0-7d3e-7000-8000-000000000001/data.parquet");
            store
                .put(&key, PutPayload::from_static(b"bytes"))
                .await
                .unwrap();
            let file = LocalTarget::of(&cfg).unwrap().file_of(&key).unwrap();
            assert_eq!(std::fs::read(&file).unwrap(), b"bytes", "prefix {prefix:?}");
        }
        let cfg = StorageConfig {
            backend: StorageBackend::Memory,
            ..Default::default()
        };
        assert!(LocalTarget::of(&cfg).is_none());
    }
}
