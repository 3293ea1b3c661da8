//! The test cluster: real in-process ingesters (memory object store, WAL in a tempdir), each
//! behind a switch that can take it "down". The switch is the only test double: when down
//! every call answers `Unavailable`, otherwise it forwards to the ingester. Limit refusals come
//! from the ingesters themselves (their overrides).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use prost::Message;
use strata_common::{ManualClock, SharedClock, TenantId, TraceId};
use strata_config::{BlockConfig, FsyncMode, IngesterConfig, RingConfig, TenantLimits};
use strata_ingester::{Ingester, IngesterMetrics};
use strata_proto::otlp::trace::Span;
use strata_proto::roles::{
    IngesterConn, IngesterHealth, IngesterPusher, IngesterQuerier, PushRequest, PushResponse,
    RoleError, TraceFragments, TracePush,
};
use strata_proto::tempopb;
use strata_testkit::{kv, resource, resource_spans, s, span, trace_push};

use crate::{ring_key, ConnFactory, IngesterPool, Membership, ReplicatedPusher, Ring};

/// A real ingester behind an on/off switch.
pub struct Node {
    pub name: String,
    pub ingester: Ingester,
    down: AtomicBool,
    /// Push calls this node received, up or down.
    pub pushes: AtomicUsize,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(name: &str, tweak: &dyn Fn(&mut IngesterConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = IngesterConfig::default();
        cfg.wal.path = dir.path().join("wal");
        cfg.wal.fsync = FsyncMode::Never;
        tweak(&mut cfg);
        let clock: SharedClock = Arc::new(ManualClock::default());
        let metrics = IngesterMetrics::new(&mut strata_server::Registry::default());
        let store = Arc::new(object_store::memory::InMemory::new());
        let (ingester, _) =
            Ingester::start(cfg, BlockConfig::default(), store, clock, metrics).unwrap();
        Self {
            name: name.to_string(),
            ingester,
            down: AtomicBool::new(false),
            pushes: AtomicUsize::new(0),
            _dir: dir,
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Limits every tenant's traces to `bytes` (`max_bytes_per_trace`) on this ingester.
    pub fn limit_trace_bytes(&self, bytes: u64) {
        let mut limits = TenantLimits::default();
        limits.global.max_bytes_per_trace = bytes;
        self.ingester
            .set_overrides(strata_server::Overrides::fixed(limits));
    }

    fn check(&self) -> Result<(), RoleError> {
        if self.down.load(Ordering::SeqCst) {
            Err(RoleError::Unavailable(format!("{} is down", self.name)))
        } else {
            Ok(())
        }
    }

    /// Spans of `id` in this ingester's memory, read directly (ignores the switch).
    pub async fn spans(&self, id: TraceId) -> usize {
        let f = self
            .ingester
            .find_trace_by_id(&TenantId::single(), &id)
            .await
            .unwrap();
        f.payloads.iter().map(span_count).sum()
    }
}

pub fn span_count(payload: &Bytes) -> usize {
    tempopb::Trace::decode(payload.as_ref())
        .unwrap()
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

#[async_trait]
impl IngesterPusher for Node {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        self.pushes.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.ingester.push(req).await
    }
}

#[async_trait]
impl IngesterHealth for Node {
    async fn ready(&self) -> Result<(), RoleError> {
        self.check()
    }
}

#[async_trait]
impl IngesterQuerier for Node {
    async fn find_trace_by_id(
        &self,
        tenant: &TenantId,
        trace_id: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        self.check()?;
        self.ingester.find_trace_by_id(tenant, trace_id).await
    }

    async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        self.check()?;
        self.ingester.search(tenant, req).await
    }

    async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        self.check()?;
        self.ingester.search_tags(tenant, req).await
    }

    async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        self.check()?;
        self.ingester.search_tag_values(tenant, req).await
    }
}

/// `n` ingesters named `ingester-0`…, a pool over them with replication factor `rf`.
pub struct Cluster {
    pub nodes: BTreeMap<String, Arc<Node>>,
    pub pool: Arc<IngesterPool>,
}

impl Cluster {
    pub fn start(n: usize, rf: usize) -> Self {
        Self::start_with(n, rf, &|_| {})
    }

    /// Like [`Cluster::start`], with `tweak` applied to every ingester's configuration.
    pub fn start_with(n: usize, rf: usize, tweak: &dyn Fn(&mut IngesterConfig)) -> Self {
        let nodes: BTreeMap<String, Arc<Node>> = (0..n)
            .map(|i| {
                let name = format!("ingester-{i}");
                (name.clone(), Arc::new(Node::start(&name, tweak)))
            })
            .collect();
        let cfg = RingConfig {
            replication_factor: rf,
            members: nodes.keys().cloned().collect(),
            ..Default::default()
        };
        let by_name = nodes.clone();
        let factory: ConnFactory = Arc::new(move |addr: &str| {
            let node: Arc<dyn IngesterConn> = by_name[addr].clone();
            node
        });
        let pool = Arc::new(IngesterPool::new(
            Membership::from_config(&cfg),
            factory,
            &cfg,
        ));
        Self { nodes, pool }
    }

    pub fn node(&self, name: &str) -> &Node {
        &self.nodes[name]
    }

    pub fn pusher(&self) -> ReplicatedPusher {
        ReplicatedPusher::new(self.pool.clone())
    }

    /// The trace's preference list over every member.
    pub fn prefs(&self, id: TraceId) -> Vec<String> {
        let ring = Ring::new(self.nodes.keys().cloned(), 128);
        ring.preference_list(ring_key(&TenantId::single(), &id))
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// The members whose ingester holds spans of `id`.
    pub async fn holders(&self, id: TraceId) -> Vec<String> {
        let mut out = Vec::new();
        for (name, node) in &self.nodes {
            if node.spans(id).await > 0 {
                out.push(name.clone());
            }
        }
        out
    }
}

/// A trace of `spans` spans of service `svc`, starting at `start` seconds.
pub fn trace(id: TraceId, svc: &str, spans: u8, start: u64) -> TracePush {
    let start_ns = start * 1_000_000_000;
    let end_ns = start_ns + 1_000_000;
    let spans: Vec<Span> = (1..=spans)
        .map(|n| Span {
            attributes: vec![kv("http.method", s("GET"))],
            ..span(
                &id,
                u64::from(n),
                &format!("op-{n}"),
                start_ns + u64::from(n),
                end_ns,
            )
        })
        .collect();
    trace_push(
        id,
        start_ns,
        end_ns,
        vec![resource_spans(Some(resource(svc)), None, spans)],
    )
}

pub fn tid(n: u32) -> TraceId {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[15] = 1;
    TraceId(b)
}

pub use strata_testkit::push_request as push_of;
