//! Tests: the ring alone, then replication over real in-process ingesters.

mod cluster;
mod distribution;
mod replication;
