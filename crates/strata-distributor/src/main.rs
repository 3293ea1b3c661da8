//! `strata-distributor`: the distributor role as its own process (see `strata_distributor::app`).

use anyhow::Context;
use clap::Parser;
use strata_server::process::{init_tracing, signal_token, RoleArgs};

fn main() -> anyhow::Result<()> {
    let args = RoleArgs::parse();
    let cfg = args.load()?;
    init_tracing(&cfg.server.log_level);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio runtime")?
        .block_on(async move { strata_distributor::app::run(cfg, signal_token()).await })
        .context("strata-distributor")
}
