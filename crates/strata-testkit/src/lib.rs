//! Test support shared by Strata's crates (a dev-dependency only, never shipped).
//!
//! * [`arb`]: random OTLP export requests for the fuzz targets (`strata-fuzzkit` strategies).
//! * [`attrs`]: OTLP attribute values and key-values.
//! * [`ids`]: trace and span IDs derived from small integers.
//! * [`otlp`]: spans, resources with `service.name`, scope spans, export requests, and the
//!   `tempopb.Trace` payloads and [`strata_proto::roles::TracePush`]es the roles exchange.
//! * [`fixtures`]: where the checked-in stored-format fixtures live and the data they hold.
//! * [`pki`]: a throwaway certificate authority and certificates for TLS tests (`openssl`).
//!
//! The OTLP types are `strata_proto::otlp`'s; IDs are `strata_common`'s. This crate depends
//! on nothing above `strata-proto`, so any crate's tests can use it without a cycle.

pub mod arb;
pub mod attrs;
pub mod fixtures;
pub mod ids;
pub mod otlp;
pub mod pki;

pub use attrs::{array, boolean, bytes, double, every_kind_of_attribute, int, kv, kvlist, s};
pub use ids::{span_id, trace_id, trace_id_front, trace_id_with};
pub use otlp::{
    normalise, push_request, request, resource, resource_spans, resource_with, scope, scope_spans,
    service_trace, span, span_count, trace_payload, trace_push,
};
