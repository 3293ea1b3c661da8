//! TraceQL metrics (`{ } | rate() by (x)`): `GET /api/metrics/query_range` and
//! `/api/metrics/query`, evaluated by the same code over live data and blocks.
//!
//! * [`MetricsJob`] (`job.rs`): a request compiled; spans selected by the search evaluator
//!   are sorted into intervals ([`MetricsRange`], `range.rs`) and series.
//! * [`MetricsAccumulator`] (`accumulator.rs`): partial series of any number of sources
//!   (live data, blocks, ingesters), merged by the function's rule (`func.rs`); what
//!   ingesters send the querier.
//! * `finish.rs`: the final values (rates, averages, quantiles from power-of-two buckets,
//!   `log2.rs`), second stages (`topk`, `bottomk`, comparisons) and Tempo's output rules.
//!
//! * `compare.rs`: `compare()`, selection against baseline per attribute value.
//!
//! Not supported yet: arithmetic between metrics queries (refused with a message).

mod accumulator;
mod compare;
mod finish;
mod func;
mod job;
pub mod log2;
mod range;

pub use accumulator::{MetricsAccumulator, EXEMPLARS_PER_BUCKET};
pub use compare::{META_ERROR, META_TYPE};
pub use func::BUCKET_LABEL;
pub use job::{BadMetrics, MetricsJob, MAX_INTERVALS};
pub use range::{default_step, MetricsRange};
