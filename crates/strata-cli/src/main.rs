//! `strata`: runs every role in one process (`strata run`), and operator tools
//! (`strata loadgen`, `strata query`, `strata config check|dump`, `strata auth hash-token|hash-password`).

mod all;
mod auth;
mod blocks;
mod loadgen;
mod pipe;
mod query;
mod query_metrics;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use strata_server::process::RoleArgs;

/// Loads `path`, or the built-in defaults without one.
fn load_config(path: Option<&PathBuf>) -> anyhow::Result<strata_config::Config> {
    let args = RoleArgs {
        config: path.cloned(),
        expand_env: false,
    };
    Ok(args.load()?)
}

#[derive(Parser)]
#[command(name = "strata", version, about = "A Tempo-compatible tracing backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every role (distributor, ingester, querier) in one process.
    Run(RoleArgs),
    /// Send synthetic traces over OTLP and report accepted spans/s and latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Query a running server: trace by ID, TraceQL search.
    Query(query::QueryArgs),
    /// Blocks in the object store: `blocks list`, `blocks inspect <id>`.
    Blocks(blocks::BlocksArgs),
    /// Credential tools: the hashed forms `auth.credentials` stores (secret read from stdin).
    Auth {
        #[command(subcommand)]
        action: auth::AuthAction,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Load and validate a file; print nothing and exit 0 when it is valid.
    Check {
        path: PathBuf,
        /// Replace `${VAR}` references from the environment first, as the roles do.
        #[arg(long = "config.expand-env", env = "STRATA_CONFIG_EXPAND_ENV")]
        expand_env: bool,
    },
    /// Print the effective configuration (file plus defaults) as YAML, credentials redacted.
    Dump {
        path: Option<PathBuf>,
        /// Replace `${VAR}` references from the environment first, as the roles do.
        #[arg(long = "config.expand-env", env = "STRATA_CONFIG_EXPAND_ENV")]
        expand_env: bool,
    },
}

fn main() -> anyhow::Result<()> {
    pipe::exit_quietly_on_closed_stdout();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            let cfg = args.load()?;
            strata_server::telemetry::init(&cfg.server);
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
        Command::Auth { action } => {
            println!("{}", auth::run(action, &mut std::io::stdin().lock())?);
            Ok(())
        }
        Command::Config { action } => match action {
            ConfigAction::Check { path, expand_env } => {
                let cfg = strata_config::Config::load_with(&path, expand_env)?;
                strata_ingester::tail::check_config(&cfg).map_err(anyhow::Error::msg)?;
                Ok(())
            }
            ConfigAction::Dump { path, expand_env } => {
                let args = RoleArgs {
                    config: path,
                    expand_env,
                };
                print!("{}", args.load()?.to_yaml());
                Ok(())
            }
        },
    }
}
