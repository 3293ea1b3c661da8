//! The object store: construction from configuration and the typed keys of everything Strata
//! stores. No other crate builds an object-store backend or formats an object key.
//!
//! Layout (below the configured prefix):
//!
//! ```text
//! <tenant>/<block-id>/meta.json      block metadata; written last, so its presence means "complete"
//! <tenant>/<block-id>/data.parquet   spans, one row per span, sorted by (trace ID, start)
//! <tenant>/<block-id>/bloom          trace-ID bloom filter
//! ```

mod factory;
mod paths;

pub use factory::{build_store, StorageError};
pub use object_store::{path::Path as ObjectPath, ObjectStore};
pub use paths::{list_blocks, list_tenants, BlockPaths};

use std::sync::Arc;

/// A shared object store handle.
pub type SharedStore = Arc<dyn ObjectStore>;
