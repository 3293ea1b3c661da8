//! `strata-metrics-generator`: the metrics-generator role as its own process (see
//! `strata_metrics_generator::app`).
//!
//! `strata-metrics-generator [--config <file>]` (or `STRATA_CONFIG`).

fn main() -> anyhow::Result<()> {
    strata_server::process::run_role(strata_metrics_generator::app::run)?;
    Ok(())
}
