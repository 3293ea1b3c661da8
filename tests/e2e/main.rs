//! Every end-to-end test of the workspace, one module per file of this folder (each says what
//! it tests), in one test binary: one link instead of one per file. Run one file's tests with
//! a filter on its module, e.g. `cargo nextest run -p strata-integration-tests search::`.

mod auth;
mod backends;
mod blocks;
mod cli;
mod cluster;
mod compactor;
mod deploy;
mod durability;
mod faults;
mod generator;
mod hostile;
mod ingest;
mod metrics;
mod observability;
mod outage;
mod receivers;
mod run_cluster;
mod sampling;
mod scan_budget;
mod search;
mod search_peers;
mod soak;
mod tail_sampling;
mod tenants;
mod tls;
mod ui;
