//! TraceQL search over Arrow record batches of the block schema ([`strata_block::schema`]).
//!
//! The same code answers searches over live data (the ingester turns its in-memory traces
//! into batches with [`strata_block::SpanBatchBuilder`]) and over blocks (batches read from
//! `data.parquet`), so both give identical answers.
//!
//! * [`SearchPlan`] compiles a validated [`strata_traceql::Query`]: which columns it needs, a
//!   span-level prefilter for a cheap first pass, and the full evaluation.
//! * [`tags`]: tag names and values for tag discovery.
//! * [`merge`]: how answers of several sources (replicas, ingesters and blocks) combine, and
//!   the default search limit.
//!
//! # Batch invariant
//! Every batch handed to evaluation holds **whole traces** with their rows contiguous (as
//! blocks store them: sorted by trace ID). A trace split across two batches is evaluated as
//! two traces.

mod array;
mod error;
mod eval;
mod gofmt;
pub mod live;
pub mod merge;
pub mod metrics;
mod plan;
mod prune;
mod result;
pub mod search;
pub mod tag_search;
pub mod tags;

pub use error::EngineError;
pub use plan::SearchPlan;
pub use prune::Prune;
pub use result::{MatchedSpan, ServiceStats, SpanSet, TraceMatch};
