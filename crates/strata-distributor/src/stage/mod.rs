//! The stages of the ingest pipeline, each a small type or function with its own tests; the
//! order they run in is [`Pipeline`](crate::pipeline::Pipeline)'s.

pub mod group;
pub mod handoff;
pub mod head_sample;
pub mod limiter;
pub mod rate_limit;
pub mod replicate;
pub mod sample;
pub mod split;
pub mod truncate;
pub mod validate;
pub mod wire;
