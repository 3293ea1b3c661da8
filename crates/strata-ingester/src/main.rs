//! `strata-ingester`: the ingester role as its own process (see `strata_ingester::app`).

fn main() -> anyhow::Result<()> {
    strata_server::process::run_role(strata_ingester::app::run)?;
    Ok(())
}
