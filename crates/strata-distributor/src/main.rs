//! `strata-distributor`: the distributor role as its own process (see `strata_distributor::app`).

fn main() -> anyhow::Result<()> {
    strata_server::process::run_role(strata_distributor::app::run)?;
    Ok(())
}
