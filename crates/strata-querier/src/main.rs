//! `strata-querier`: the querier role as its own process (see `strata_querier::app`).

fn main() -> anyhow::Result<()> {
    strata_server::process::run_role(strata_querier::app::run)?;
    Ok(())
}
