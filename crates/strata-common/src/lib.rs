//! Domain types shared by every Strata crate: identifiers (`TraceId`, `SpanId`, `TenantId`,
//! `BlockId`), the injected [`Clock`] and the W3C trace context of Strata's own spans
//! ([`trace_context`]), and [`varint`] and [`is_utf8`] for the wire walks.
//!
//! This crate is the bottom of the dependency graph: no network, columnar or async dependencies,
//! so it compiles first and fast.

mod clock;
mod ids;
mod tenant;
pub mod trace_context;
mod wire;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use ids::{BlockId, IdError, SpanId, TraceId};
pub use tenant::{TenantError, TenantId, SINGLE_TENANT};
pub use wire::{is_utf8, varint};
