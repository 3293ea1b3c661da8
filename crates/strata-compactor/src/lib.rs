//! The compactor role: merges small blocks into larger ones, applies retention, and keeps each
//! tenant's block index.
//!
//! * [`plan`]: which blocks are compacted together (by window and level).
//! * [`job`]: one compaction, streamed with bounded memory (one row group per input plus one
//!   trace per input), output complete before inputs are marked.
//! * [`retention`]: deletion of expired, compacted and orphaned blocks.
//! * [`ownership`]: several compactors share the work through a ring of compactors, whose
//!   members' readiness [`probe`] checks (over HTTPS when the HTTP port serves TLS).
//! * [`background`]: the thread jobs run on, off the async runtime and at a lower CPU priority.
//! * [`Compactor`]: the cycle tying them together, with an injected clock.
//!
//! Objects it writes besides blocks: `<tenant>/<block>/compacted.json`
//! ([`strata_block::compacted`]) and `<tenant>/index.json` ([`strata_block::index`]).

pub mod app;
pub mod background;
mod compactor;
pub mod error;
pub mod job;
pub mod metrics;
pub mod ownership;
pub mod plan;
pub mod probe;
pub mod retention;
pub mod settings;

pub use compactor::{Compactor, CycleReport};
pub use error::CompactorError;
pub use metrics::CompactorMetrics;
pub use ownership::{job_key, tenant_key, OwnAll, Ownership, RingOwnership};
pub use probe::HttpReadyProbe;
pub use retention::{NoOverrides, RetentionOverrides};
pub use settings::CompactorSettings;
