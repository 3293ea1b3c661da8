//! Builds an object store from [`StorageConfig`].

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;
use strata_config::{StorageBackend, StorageConfig};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("creating local storage directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    ObjectStore(#[from] object_store::Error),
    #[error("bad object key {0}")]
    BadKey(String),
}

/// Builds the configured backend, wrapped in the configured key prefix.
pub fn build_store(cfg: &StorageConfig) -> Result<Arc<dyn ObjectStore>, StorageError> {
    let base: Arc<dyn ObjectStore> = match cfg.backend {
        StorageBackend::Local => {
            let path = &cfg.local.path;
            std::fs::create_dir_all(path).map_err(|source| StorageError::CreateDir {
                path: path.display().to_string(),
                source,
            })?;
            Arc::new(LocalFileSystem::new_with_prefix(path)?)
        }
        StorageBackend::Memory => Arc::new(InMemory::new()),
    };
    let prefix = cfg.prefix.trim_matches('/');
    if prefix.is_empty() {
        Ok(base)
    } else {
        Ok(Arc::new(PrefixStore::new(base, prefix)))
    }
}
