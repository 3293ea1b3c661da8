//! `strata`: runs every role in one process (`strata run`), and operator tools
//! (`strata loadgen`, `strata query`, `strata config check|dump`).

mod all;
mod blocks;
mod loadgen;
mod query;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "strata", version, about = "A Tempo-compatible tracing backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every role (distributor, ingester, querier) in one process.
    Run {
        /// YAML configuration file; without it, built-in defaults.
        #[arg(long = "config", short = 'c', env = "STRATA_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Send synthetic traces over OTLP and report accepted spans/s and latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Query a running server: trace by ID, TraceQL search.
    Query(query::QueryArgs),
    /// Blocks in the object store: `blocks list`, `blocks inspect <id>`.
    Blocks(blocks::BlocksArgs),
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Load and validate a file; print nothing and exit 0 when it is valid.
    Check { path: PathBuf },
    /// Print the effective configuration (file plus defaults) as YAML.
    Dump { path: Option<PathBuf> },
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<strata_config::Config> {
    match path {
        Some(p) => strata_config::Config::load(p).map_err(anyhow::Error::from),
        None => Ok(strata_config::Config::default()),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => {
            let cfg = load_config(config.as_ref())?;
            strata_server::process::init_tracing(&cfg.server.log_level);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting tokio runtime")?;
            rt.block_on(all::run(cfg))
        }
        Command::Loadgen(args) => {
            strata_server::process::init_tracing("warn");
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting tokio runtime")?;
            rt.block_on(loadgen::run(args))
        }
        Command::Query(args) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting tokio runtime")?;
            rt.block_on(query::run(args))
        }
        Command::Blocks(args) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting tokio runtime")?;
            rt.block_on(blocks::run(args))
        }
        Command::Config { action } => match action {
            ConfigAction::Check { path } => {
                strata_config::Config::load(&path)?;
                Ok(())
            }
            ConfigAction::Dump { path } => {
                print!("{}", load_config(path.as_ref())?.to_yaml());
                Ok(())
            }
        },
    }
}
