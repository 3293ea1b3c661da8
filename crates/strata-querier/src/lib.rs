//! The querier: Tempo's query HTTP API over recent data (ingesters, through
//! [`IngesterQuerier`]) and blocks in the object store ([`blocklist::BlockList`]).
//!
//! Trace by ID asks the ingester and every block whose time range and bloom filter admit the
//! ID, then merges the shares, dropping duplicate (span ID, kind) pairs ([`combine`]). Search
//! and tag answers of the ingester and the blocks merge with [`strata_engine::merge`].
//!
//! In distributed mode "the ingester" is [`FanoutQuerier`]: every ingester of the ring, asked
//! through the ring's generic fan-out, answers merged the same way ([`fanout`]).
//!
//! A search can be shared with the querier's peers (`querier.search.peers`): some of its jobs
//! run on other queriers ([`peers`], [`peer_wire`]), which serve them on an internal route
//! (`http_peer`); a job a peer does not answer runs here.
//!
//! The same port serves the built-in trace explorer at `/` ([`ui`]), in every mode that serves
//! the API.

pub mod app;
pub mod blocklist;
pub mod budget;
pub mod combine;
pub mod fanout;
mod footer_metrics;
pub mod http;
pub mod http_isolate;
mod http_metrics;
mod http_observe;
mod http_peer;
mod http_search;
mod metrics;
mod metrics_params;
pub mod metrics_peer;
mod params;
pub mod peer_wire;
pub mod peers;
mod search;
mod search_jobs;
mod search_remote;
mod tags;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_proto::otlp::trace::ResourceSpans;
use strata_proto::roles::{IngesterQuerier, RoleError};
use strata_proto::status::ErrorKind;
use strata_proto::tempopb;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use blocklist::BlockList;
pub use fanout::FanoutQuerier;
pub use peers::{Forward, Peers};

/// Query failures; each maps to its HTTP status through [`strata_proto::status`].
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no org id")]
    NoTenant,
    /// Recent data cannot be read now (too many ingesters down or stopping): 503, so clients
    /// and Grafana retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl QueryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            QueryError::BadRequest(_) => ErrorKind::InvalidArgument,
            QueryError::NoTenant => ErrorKind::Unauthenticated,
            QueryError::Unavailable(_) => ErrorKind::Unavailable,
            QueryError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A failed call to the ingesters while doing `what`, kept as its kind.
    pub fn from_role(what: &str, e: RoleError) -> Self {
        let msg = format!("{what}: {e}");
        match e.kind() {
            ErrorKind::InvalidArgument => QueryError::BadRequest(msg),
            ErrorKind::Unavailable | ErrorKind::ResourceExhausted => QueryError::Unavailable(msg),
            _ => QueryError::Internal(msg),
        }
    }
}

/// Settings the querier needs.
#[derive(Debug, Clone)]
pub struct QuerierSettings {
    pub multitenancy_enabled: bool,
    pub max_bytes_per_trace: usize,
    pub blocklist_poll: Duration,
    /// How a search over blocks is split into jobs and run.
    pub search: strata_config::QuerierSearchConfig,
}

impl QuerierSettings {
    pub fn from_config(cfg: &strata_config::Config) -> Self {
        Self {
            multitenancy_enabled: cfg.multitenancy_enabled,
            max_bytes_per_trace: cfg.querier.max_bytes_per_trace,
            blocklist_poll: cfg.storage.blocklist_poll,
            search: cfg.querier.search.clone(),
        }
    }
}

#[derive(Clone)]
pub struct QuerierMetrics {
    pub trace_lookups: Counter,
    pub blocks_inspected: Counter,
    pub lookup_seconds: Histogram,
    pub searches: Counter,
    /// Search jobs (blocks or ranges of their row groups) this querier ran, for its own
    /// searches and for its peers'.
    pub search_jobs: Counter,
    /// Jobs shared with peers, by outcome ([`metrics_peer`]).
    pub peer_jobs: metrics_peer::PeerJobCounter,
    pub search_seconds: Histogram,
    /// Every query API request by route and status, and its latency by route
    /// ([`http_observe`]).
    pub requests: http_observe::RequestMetrics,
    /// Per-tenant query slots, shared by clones, with `queries_refused_total`
    /// ([`http_isolate`]).
    pub gates: Arc<http_isolate::TenantGates>,
    /// Answers cut short by a per-tenant bound, `queries_cut_total{tenant,reason}`
    /// ([`budget`]).
    pub cuts: budget::CutCounter,
}

impl QuerierMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            trace_lookups: Counter::default(),
            blocks_inspected: Counter::default(),
            lookup_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            searches: Counter::default(),
            search_jobs: Counter::default(),
            peer_jobs: metrics_peer::PeerJobCounter::default(),
            search_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            requests: http_observe::RequestMetrics::default(),
            gates: Arc::default(),
            cuts: budget::CutCounter::default(),
        };
        let r = registry.sub_registry_with_prefix("strata_querier");
        r.register(
            "trace_lookups",
            "Trace-by-ID requests",
            m.trace_lookups.clone(),
        );
        r.register(
            "blocks_inspected",
            "Blocks opened for trace-by-ID (after time range and bloom filter)",
            m.blocks_inspected.clone(),
        );
        r.register(
            "trace_lookup_duration_seconds",
            "Trace-by-ID latency",
            m.lookup_seconds.clone(),
        );
        r.register("searches", "Search requests", m.searches.clone());
        r.register(
            "search_jobs",
            "Search jobs (a block, or a range of its row groups) run by this querier, for its \
             own searches and for its peers'",
            m.search_jobs.clone(),
        );
        r.register(
            "peer_search_jobs",
            "Search jobs shared between queriers: remote (answered by a peer), fallback (a \
             peer failed, run here), served (run here for a peer), refused (a peer's job \
             refused here)",
            m.peer_jobs.family.clone(),
        );
        r.register(
            "queries_refused",
            "Query API requests refused by the tenant's read limits (429 concurrency, 504 timeout)",
            m.gates.refused.clone(),
        );
        r.register(
            "queries_cut",
            "Query answers returned PARTIAL because a per-tenant bound cut the work \
             (block_bytes: read.max_block_bytes_per_query; series: query_metrics.max_series)",
            m.cuts.family.clone(),
        );
        m.requests.register(r);
        r.register(
            "search_duration_seconds",
            "Search latency",
            m.search_seconds.clone(),
        );
        m
    }
}

/// The result of a trace-by-ID lookup.
#[derive(Debug, Default)]
pub struct FoundTrace {
    pub trace: tempopb::Trace,
    pub spans: usize,
    pub partial: bool,
    pub inspected_bytes: u64,
}

/// The querier role. Cheap to clone.
#[derive(Clone)]
pub struct Querier {
    ingester: Arc<dyn IngesterQuerier>,
    blocks: BlockList,
    settings: QuerierSettings,
    metrics: QuerierMetrics,
    overrides: strata_server::Overrides,
    tenants: strata_server::auth::TenantResolver,
    /// The queriers searches received here share their jobs with (none: no sharing).
    peers: Option<Arc<Peers>>,
    /// This process's ID, so that a job it sends itself is refused ([`peer_wire`]).
    instance: Arc<str>,
    /// Slots of the jobs run for peers (`querier.search.peers.max_jobs_for_peers`).
    peer_slots: Arc<tokio::sync::Semaphore>,
}

/// A fresh, random ID for this process.
fn new_instance_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

impl Querier {
    pub fn new(
        ingester: Arc<dyn IngesterQuerier>,
        blocks: BlockList,
        settings: QuerierSettings,
        metrics: QuerierMetrics,
    ) -> Self {
        let tenants = strata_server::auth::TenantResolver::open(settings.multitenancy_enabled);
        let peer_slots = match settings.search.peers.max_jobs_for_peers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Self {
            ingester,
            blocks,
            settings,
            metrics,
            overrides: strata_server::Overrides::default(),
            tenants,
            peers: None,
            instance: new_instance_id().into(),
            peer_slots: Arc::new(tokio::sync::Semaphore::new(peer_slots)),
        }
    }

    /// Shares searches with `peers` (built with [`Querier::instance`] as its instance ID).
    pub fn with_peers(mut self, peers: Arc<Peers>) -> Self {
        self.peers = Some(peers);
        self
    }

    /// This process's instance ID, sent with the jobs it shares.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub(crate) fn peers(&self) -> Option<&Arc<Peers>> {
        self.peers.as_ref()
    }

    pub(crate) fn peer_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.peer_slots
    }

    /// The per-tenant query slots and their refusal counts ([`http_isolate`]).
    pub fn gates(&self) -> &http_isolate::TenantGates {
        &self.metrics.gates
    }

    /// The per-tenant limits to apply (metrics query bounds); the compiled defaults until
    /// set.
    pub fn with_overrides(mut self, overrides: strata_server::Overrides) -> Self {
        self.overrides = overrides;
        self
    }

    pub fn overrides(&self) -> &strata_server::Overrides {
        &self.overrides
    }

    /// A fresh scan budget for one query of `tenant` (`read.max_block_bytes_per_query`).
    pub fn scan_budget(&self, tenant: &TenantId) -> budget::ScanBudget {
        budget::ScanBudget::new(self.overrides.limits(tenant).read.max_block_bytes_per_query)
    }

    /// Decides tenants with `resolver` (the process's, with its credentials); until set,
    /// `X-Scope-OrgID` alone names the tenant.
    pub fn with_tenants(mut self, resolver: strata_server::auth::TenantResolver) -> Self {
        self.tenants = resolver;
        self
    }

    /// What decides the tenant of each query request.
    pub fn tenants(&self) -> &strata_server::auth::TenantResolver {
        &self.tenants
    }

    /// The querier `cfg` describes, reading recent data from `ingester` and blocks from
    /// `store`, with its metrics in `registry`: the one place `strata run` and the querier
    /// binary build it.
    pub fn from_config(
        cfg: &strata_config::Config,
        ingester: Arc<dyn IngesterQuerier>,
        store: strata_storage::SharedStore,
        registry: &mut Registry,
    ) -> Self {
        let footers = Arc::new(strata_block::FooterCache::new(
            cfg.querier.block_footer_cache_bytes,
        ));
        footer_metrics::register(registry, footers.clone());
        let blocks = BlockList::new(store)
            .with_index_max_age(cfg.storage.blocklist_poll_stale_tenant_index)
            .with_footer_cache(footers);
        Self::new(
            ingester,
            blocks,
            QuerierSettings::from_config(cfg),
            QuerierMetrics::new(registry),
        )
    }

    /// Polls the block list until the first poll succeeds (retrying every second, logging
    /// each failure) or `shutdown` fires; returns whether it succeeded. A process is ready only
    /// after this: an object store that is down at start delays readiness, it does not stop
    /// the process.
    pub async fn first_poll(&self, shutdown: &CancellationToken) -> bool {
        loop {
            match self.blocks.poll().await {
                Ok(n) => {
                    tracing::info!(blocks = n, "block list loaded");
                    return true;
                }
                Err(e) => tracing::warn!(error = %e, "first block-list poll failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.cancelled() => return false,
            }
        }
    }

    pub fn metrics(&self) -> &QuerierMetrics {
        &self.metrics
    }

    pub fn settings(&self) -> &QuerierSettings {
        &self.settings
    }

    pub fn blocks(&self) -> &BlockList {
        &self.blocks
    }

    /// Polls the block list every `blocklist_poll` until `shutdown` fires.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.blocklist_poll);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.blocks.poll().await {
                        tracing::warn!(error = %e, "polling block list");
                    }
                }
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Finds a trace in recent data and blocks. `range` (unix ns) restricts which blocks are
    /// searched; ingesters are always asked.
    pub async fn find_trace(
        &self,
        tenant: &TenantId,
        id: &TraceId,
        range: Option<(u64, u64)>,
    ) -> Result<FoundTrace, QueryError> {
        let started = std::time::Instant::now();
        self.metrics.trace_lookups.inc();
        // The ingesters and the candidate blocks are asked at the same time: a lookup takes as
        // long as the slower of the two, not their sum (on an object store every block read is
        // a round trip).
        let ingesters = self
            .ingester
            .find_trace_by_id(tenant, id)
            .instrument(tracing::info_span!("ingesters.find_trace_by_id"));
        let blocks = self.blocks.find_trace(tenant, id, range);
        let (recent, results) = futures::join!(ingesters, blocks);
        self.metrics.blocks_inspected.inc_by(results.len() as u64);
        let recent = recent.map_err(|e| QueryError::from_role("querying ingester", e))?;
        let mut inspected = recent.inspected_bytes;
        let mut shares: Vec<ResourceSpans> = Vec::new();
        for p in &recent.payloads {
            let t = tempopb::Trace::decode(p.as_ref())
                .map_err(|e| QueryError::Internal(format!("decoding ingester share: {e}")))?;
            shares.extend(t.resource_spans);
        }
        for r in results {
            match r {
                Ok(Some(found)) => {
                    inspected += found.inspected_bytes;
                    shares.extend(found.resource_spans);
                }
                Ok(None) => {}
                // Deleted since the block list was read (retention, or compacted inputs after
                // their grace period): its data is gone or in its replacement.
                Err(e) if e.is_not_found() => {
                    tracing::debug!(error = %e, "block vanished during a trace lookup")
                }
                Err(e) => return Err(QueryError::Internal(format!("reading block: {e}"))),
            }
        }
        let combined = combine::combine(shares, self.settings.max_bytes_per_trace);
        self.metrics
            .lookup_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(FoundTrace {
            trace: combined.trace,
            spans: combined.spans,
            partial: combined.partial,
            inspected_bytes: inspected,
        })
    }
}
