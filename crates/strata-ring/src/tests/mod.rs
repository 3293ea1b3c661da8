//! Tests: the ring alone, the generic pool with a member of another role, then replication
//! over real in-process ingesters.

mod cluster;
mod distribution;
mod pool;
mod replication;
