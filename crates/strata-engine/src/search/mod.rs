//! Running a search request (`GET /api/search`) over live data and blocks, answered in Tempo's
//! `SearchResponse`.
//!
//! The seams:
//!
//! * [`SearchJob`] (`job.rs`): a request validated and compiled ([`SearchPlan`](crate::SearchPlan)
//!   and bounds), searching batches of whole traces; `block.rs` adds the search of a block with
//!   statistics- and dictionary-based pruning; `summary.rs` the second pass of a span-local
//!   query over a block with trace-level columns (format v3).
//! * [`SearchAccumulator`] (`accumulator.rs`): combines results of any number of sources per
//!   trace ID and answers the newest `limit` traces.
//! * Rendering (`render.rs`): a [`TraceMatch`](crate::TraceMatch) in Tempo's response shape
//!   ([`to_metadata`]).
//! * Legacy search (`legacy.rs`): a request's `tags` turned into TraceQL
//!   ([`legacy_tags_query`]). Tag *discovery* (tag names and values) is [`crate::tag_search`].

mod accumulator;
mod block;
mod hits;
mod job;
mod legacy;
mod render;
mod summary;

pub use accumulator::SearchAccumulator;
pub(crate) use block::block_err;
pub(crate) use job::trace_ids;
pub use job::{BadSearch, SearchJob, DEFAULT_SPSS};
pub use legacy::legacy_tags_query;
pub use render::{into_metadata, to_metadata, ROOT_SPAN_NOT_YET_RECEIVED};
