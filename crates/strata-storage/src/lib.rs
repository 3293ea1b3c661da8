//! The object store: construction from configuration, instrumentation, and the typed keys of
//! everything Strata stores. No other crate builds an object-store backend or formats an
//! object key.
//!
//! Backends (`storage.backend`): `local`, `memory`, `s3` (and S3-compatible servers), `gcs`,
//! `azure`, all through the `object_store` crate. [`build_store`] / [`build_instrumented`]
//! wrap the backend in the configured prefix and in an [`InstrumentedStore`] that counts and
//! times every call ([`StoreMetrics`], [`StoreStats`]).
//!
//! Layout (below the configured prefix):
//!
//! ```text
//! <tenant>/<block-id>/meta.json      block metadata; written last, so its presence means "complete"
//! <tenant>/<block-id>/data.parquet   spans, one row per span, sorted by (trace ID, start)
//! <tenant>/<block-id>/bloom          trace-ID bloom filter
//! ```

mod factory;
mod instrumented;
mod local_target;
mod metrics;
mod paths;

pub use factory::{
    build_instrumented, build_store, StorageError, AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY,
};
pub use instrumented::InstrumentedStore;
pub use local_target::LocalTarget;
pub use metrics::{Operation, Outcome, StoreMetrics, StoreStats};
pub use object_store::{path::Path as ObjectPath, ObjectStore};
pub use paths::{list_blocks, list_tenants, BlockPaths};

use std::sync::Arc;

/// A shared object store handle.
pub type SharedStore = Arc<dyn ObjectStore>;
