//! Domain types shared by every Strata crate: identifiers (`TraceId`, `SpanId`, `TenantId`,
//! `BlockId`) and the injected [`Clock`].
//!
//! This crate is the bottom of the dependency graph: no network, columnar or async dependencies,
//! so it compiles first and fast.

mod clock;
mod ids;
mod tenant;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use ids::{BlockId, IdError, SpanId, TraceId};
pub use tenant::{TenantError, TenantId, SINGLE_TENANT};
