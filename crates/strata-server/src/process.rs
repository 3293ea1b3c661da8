//! What every Strata binary does around its role: read `--config`, set up logging, run a tokio
//! runtime, and turn SIGINT/SIGTERM into a cancellation.

use std::future::Future;
use std::path::PathBuf;

use clap::Parser;
use strata_config::{Config, ConfigError};
use tokio_util::sync::CancellationToken;

/// Command line of a role binary: `<binary> [--config <file>]` (or `STRATA_CONFIG`).
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct RoleArgs {
    /// YAML configuration file; without it, built-in defaults.
    #[arg(long = "config", short = 'c', env = "STRATA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Replace `${VAR}` and `${VAR:-default}` in the file from the environment before
    /// parsing (e.g. a pod's own IP in Kubernetes).
    #[arg(long = "config.expand-env", env = "STRATA_CONFIG_EXPAND_ENV")]
    pub expand_env: bool,
}

impl RoleArgs {
    /// Loads the configuration the arguments name.
    pub fn load(&self) -> Result<Config, strata_config::ConfigError> {
        match &self.config {
            Some(p) => Config::load_with(p, self.expand_env),
            None => Ok(Config::default()),
        }
    }
}

/// Logs to stderr with `level` (overridden by `RUST_LOG`) in the default (logfmt) format,
/// without self-tracing; roles use [`crate::telemetry::init`] with their `server` section.
pub fn init_tracing(level: &str) {
    crate::telemetry::init_level(level);
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = ctrl_c => {}
            _ = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// A token cancelled on SIGINT/SIGTERM.
pub fn signal_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("signal received, shutting down");
        t.cancel();
    });
    token
}

/// Why a role binary stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RoleMainError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("starting tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Role(E),
}

/// Waits for every server task after their token was cancelled, logging those that stopped
/// with an error (shutdown goes on regardless).
pub async fn drain_servers<E: std::fmt::Display + 'static>(
    tasks: &mut tokio::task::JoinSet<Result<(), E>>,
) {
    while let Some(res) = tasks.join_next().await {
        if let Ok(Err(e)) = res {
            tracing::warn!(error = %e, "server stopped with an error");
        }
    }
}

/// The whole `main` of a role binary: parses [`RoleArgs`], loads the configuration, sets up
/// logging and a multi-threaded runtime, and runs `role` until SIGINT/SIGTERM cancel its token.
pub fn run_role<F, Fut, E>(role: F) -> Result<(), RoleMainError<E>>
where
    F: FnOnce(Config, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + 'static,
{
    let cfg = RoleArgs::parse().load()?;
    crate::telemetry::init(&cfg.server);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RoleMainError::Runtime)?
        .block_on(async move { role(cfg, signal_token()).await })
        .map_err(RoleMainError::Role)
}
