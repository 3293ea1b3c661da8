//! `strata-compactor`: the compactor role as its own process (see `strata_compactor::app`).
//!
//! `strata-compactor [--config <file>]` (or `STRATA_CONFIG`).

fn main() -> anyhow::Result<()> {
    strata_server::process::run_role(strata_compactor::app::run)?;
    Ok(())
}
