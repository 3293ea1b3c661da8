//! One lifecycle for every role process and for `strata run`: start, ready, drain, flush, stop.
//!
//! A role builds its parts, then registers with a [`Lifecycle`]:
//!
//! * **servers** ([`Lifecycle::serve_http`], [`Lifecycle::spawn_server`]): listeners that take
//!   requests (query API, receivers, the ingester's gRPC). They stop accepting at *drain* and
//!   finish the requests in flight.
//! * **drain hooks** ([`Lifecycle::on_drain`]): run once, after readiness turns false and before
//!   the servers stop (the ingester refuses new pushes with `UNAVAILABLE` from here on).
//! * **background tasks** ([`Lifecycle::spawn_background`]): loops that run until their token
//!   is cancelled at *flush* (the ingester's flush loop flushes everything when cancelled; block
//!   list polls, override reloads, ring health checks, compaction). They are awaited in the
//!   order they were registered.
//! * **late servers** ([`Lifecycle::spawn_late_server`]): stay up until the very end, so that
//!   `/ready` and `/metrics` can be read while a process flushes.
//!
//! [`Lifecycle::run`] then does, in this order: **ready** (readiness true) → wait for the
//! shutdown token or for a server to stop on its own → readiness false → drain hooks → servers
//! stop accepting and finish in-flight requests → **flush** (background tokens cancelled, tasks
//! awaited) → late servers stop → **stop**. A server that stops on its own still goes through
//! the whole sequence (so a flush is never skipped) and makes `run` return an error naming it.

use std::future::Future;

use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use strata_config::TlsServerConfig;

use crate::{listen, serve_http, Alpn, Readiness, ServerError};

/// Why a process stopped other than by its shutdown token.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("{name}: {message}")]
    Stopped { name: &'static str, message: String },
}

type ServerTasks = JoinSet<(&'static str, Result<(), String>)>;

/// The lifecycle of one process (see the module docs).
pub struct Lifecycle {
    role: &'static str,
    readiness: Readiness,
    shutdown: CancellationToken,
    servers: CancellationToken,
    late: CancellationToken,
    server_tasks: ServerTasks,
    late_tasks: ServerTasks,
    background: Vec<(CancellationToken, JoinHandle<()>)>,
    drain_hooks: Vec<Box<dyn FnOnce() + Send>>,
}

impl Lifecycle {
    /// A lifecycle for `role` (a name for logs) that stops when `shutdown` is cancelled.
    pub fn new(role: &'static str, shutdown: CancellationToken) -> Self {
        Self {
            role,
            readiness: Readiness::default(),
            shutdown,
            servers: CancellationToken::new(),
            late: CancellationToken::new(),
            server_tasks: JoinSet::new(),
            late_tasks: JoinSet::new(),
            background: Vec::new(),
            drain_hooks: Vec::new(),
        }
    }

    /// The readiness `/ready` reports; false until [`Lifecycle::run`].
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// The token that stops this process.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The token cancelled when servers stop accepting (for servers started elsewhere).
    pub fn servers_token(&self) -> CancellationToken {
        self.servers.clone()
    }

    /// Binds `addr` and serves `router` as a server (stops at drain), over TLS when `tls` has
    /// a certificate.
    pub async fn serve_http(
        &mut self,
        name: &'static str,
        addr: &str,
        tls: &TlsServerConfig,
        router: axum::Router,
    ) -> Result<(), ServerError> {
        let fut = bind_http(name, addr, tls, router, self.servers.clone()).await?;
        self.spawn_server(name, fut);
        Ok(())
    }

    /// Binds `addr` and serves `router` until the very end (see the module docs), over TLS
    /// when `tls` has a certificate.
    pub async fn serve_http_late(
        &mut self,
        name: &'static str,
        addr: &str,
        tls: &TlsServerConfig,
        router: axum::Router,
    ) -> Result<(), ServerError> {
        let fut = bind_http(name, addr, tls, router, self.late.clone()).await?;
        self.spawn_late_server(name, fut);
        Ok(())
    }

    /// Runs a server future that stops when [`Lifecycle::servers_token`] is cancelled.
    pub fn spawn_server<E, F>(&mut self, name: &'static str, fut: F)
    where
        E: std::fmt::Display,
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.server_tasks
            .spawn(async move { (name, fut.await.map_err(|e| e.to_string())) });
    }

    /// Runs a server future that must stop when the token it was given (from
    /// [`Lifecycle::late_token`]) is cancelled, after the flush.
    pub fn spawn_late_server<E, F>(&mut self, name: &'static str, fut: F)
    where
        E: std::fmt::Display,
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.late_tasks
            .spawn(async move { (name, fut.await.map_err(|e| e.to_string())) });
    }

    /// The token late servers stop on.
    pub fn late_token(&self) -> CancellationToken {
        self.late.clone()
    }

    /// Runs `f` once at drain, before servers stop accepting.
    pub fn on_drain(&mut self, f: impl FnOnce() + Send + 'static) {
        self.drain_hooks.push(Box::new(f));
    }

    /// Spawns a background loop given its own token, cancelled at flush.
    pub fn spawn_background<F, Fut>(&mut self, f: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = CancellationToken::new();
        let handle = tokio::spawn(f(token.clone()));
        self.background.push((token, handle));
    }

    /// Ready, then runs until shutdown, then drains, flushes and stops (module docs).
    pub async fn run(mut self) -> Result<(), LifecycleError> {
        if !self.shutdown.is_cancelled() {
            self.readiness.set(true);
            tracing::info!("{} is ready", self.role);
        }
        let failed = tokio::select! {
            _ = self.shutdown.cancelled() => None,
            Some(res) = self.server_tasks.join_next() => Some(stopped(res)),
            Some(res) = self.late_tasks.join_next() => Some(stopped(res)),
        };
        if let Some(e) = &failed {
            tracing::error!(error = %e, "{} stopping after a server stopped", self.role);
        }
        self.readiness.set(false);
        for hook in self.drain_hooks.drain(..) {
            hook();
        }
        tracing::info!("{}: draining servers", self.role);
        self.servers.cancel();
        drain(&mut self.server_tasks).await;
        tracing::info!("{}: flushing", self.role);
        for (token, _) in &self.background {
            token.cancel();
        }
        for (_, handle) in self.background.drain(..) {
            let _ = handle.await;
        }
        self.late.cancel();
        drain(&mut self.late_tasks).await;
        tracing::info!("{} stopped", self.role);
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Binds `addr`; the returned future serves `router` there until `stop`.
async fn bind_http(
    name: &'static str,
    addr: &str,
    tls: &TlsServerConfig,
    router: axum::Router,
    stop: CancellationToken,
) -> Result<impl Future<Output = Result<(), ServerError>>, ServerError> {
    let listener = listen(addr, tls, Alpn::Http).await?;
    tracing::info!(%addr, tls = listener.is_tls(), "{name} listening");
    Ok(serve_http(listener, router, stop))
}

fn stopped(
    res: Result<(&'static str, Result<(), String>), tokio::task::JoinError>,
) -> LifecycleError {
    match res {
        Ok((name, Ok(()))) => LifecycleError::Stopped {
            name,
            message: "stopped unexpectedly".into(),
        },
        Ok((name, Err(message))) => LifecycleError::Stopped { name, message },
        Err(e) => LifecycleError::Stopped {
            name: "server task",
            message: e.to_string(),
        },
    }
}

/// Waits for every task of a set, logging those that stopped with an error.
async fn drain(tasks: &mut ServerTasks) {
    while let Some(res) = tasks.join_next().await {
        if let Ok((name, Err(e))) = res {
            tracing::warn!(error = %e, "{name} stopped with an error");
        }
    }
}

#[cfg(test)]
mod tests;
