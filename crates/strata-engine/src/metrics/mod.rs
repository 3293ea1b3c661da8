//! TraceQL metrics (`{ } | rate() by (x)`): `GET /api/metrics/query_range` and
//! `/api/metrics/query`, evaluated by the same code over live data and blocks.
//!
//! * [`MetricsJob`] (`query.rs`): a request compiled: the time grid ([`MetricsRange`],
//!   `range.rs`), one leaf per pipeline (`job.rs`: spans selected by the search evaluator,
//!   sorted into intervals and series), and the arithmetic between leaves.
//! * [`MetricsAccumulator`] (`accumulator.rs`): partial series of any number of sources
//!   (live data, blocks, ingesters), one store per leaf (`store.rs`) merged by the
//!   function's rule (`func.rs`); what ingesters send the querier.
//! * `finish.rs`: the final values (rates, averages, quantiles from power-of-two buckets,
//!   `log2.rs`), second stages (`topk`, `bottomk`, comparisons), arithmetic, and Tempo's
//!   output rules.
//! * `compare.rs`: `compare()`, selection against baseline per attribute value.

mod accumulator;
mod arith;
mod compare;
mod finish;
mod func;
mod job;
pub mod log2;
mod query;
mod range;
mod store;

pub use accumulator::MetricsAccumulator;
pub use compare::{META_ERROR, META_TYPE};
pub use func::BUCKET_LABEL;
pub use query::{BadMetrics, MetricsJob, MAX_INTERVALS};
pub use range::{default_step, MetricsRange};
pub use store::EXEMPLARS_PER_BUCKET;
