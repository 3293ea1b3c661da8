//! Test support (feature `testing`, for other crates' tests): real in-process ingesters (memory
//! object store, WAL in a temporary directory, fsync off) behind an on/off switch, and the
//! connection factory a ring pool needs to reach them by name.
//!
//! A [`Node`] that is "down" answers every call with `UNAVAILABLE`, as a stopped or unreachable
//! ingester does; [`Node::spans`] reads the ingester directly, whatever the switch says.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use prost::Message;
use strata_common::{ManualClock, SharedClock, TenantId, TraceId};
use strata_config::{BlockConfig, FsyncMode, IngesterConfig, TenantLimits};
use strata_proto::roles::{
    IngesterConn, IngesterHealth, IngesterPusher, IngesterQuerier, PushRequest, PushResponse,
    RoleError, TraceFragments,
};
use strata_proto::tempopb;

use crate::{Ingester, IngesterMetrics};

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
    /// An ingester named `name`, its configuration changed by `tweak`.
    pub fn start(name: &str, tweak: &dyn Fn(&mut IngesterConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = IngesterConfig::default();
        cfg.wal.path = dir.path().join("wal");
        cfg.wal.fsync = FsyncMode::Never;
        tweak(&mut cfg);
        let clock: SharedClock = Arc::new(ManualClock::default());
        let metrics = IngesterMetrics::new(&mut strata_server::Registry::default());
        let store = Arc::new(object_store::memory::InMemory::new());
        let (ingester, _) = Ingester::start(cfg, BlockConfig::default(), store, clock, metrics)
            .expect("ingester starts");
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
            .expect("find trace");
        f.payloads.iter().map(span_count).sum()
    }
}

impl Node {
    /// Spans of `id` in memory as counted copies (those TraceQL metrics count; not replica
    /// copies), read directly.
    pub fn counted_spans(&self, id: TraceId) -> usize {
        let (live, _) = self.ingester.recent_data(&TenantId::single(), true);
        live.iter()
            .filter(|(t, _)| *t == id)
            .flat_map(|(_, shares)| shares)
            .map(span_count)
            .sum()
    }
}

/// Spans in a stored share (a prost-encoded `tempopb.Trace`).
pub fn span_count(payload: &Bytes) -> usize {
    tempopb::Trace::decode(payload.as_ref())
        .expect("a tempopb.Trace")
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// `n` nodes named `ingester-0`, `ingester-1`, …, each configured by `tweak`.
pub fn start_nodes(n: usize, tweak: &dyn Fn(&mut IngesterConfig)) -> BTreeMap<String, Arc<Node>> {
    (0..n)
        .map(|i| {
            let name = format!("ingester-{i}");
            (name.clone(), Arc::new(Node::start(&name, tweak)))
        })
        .collect()
}

/// A connection factory that "connects" to the node of that name (a ring pool's
/// `ConnFactory`).
pub fn conn_factory(nodes: &BTreeMap<String, Arc<Node>>) -> strata_rpc::ConnFactoryFn {
    let by_name = nodes.clone();
    Arc::new(move |addr: &str| {
        let node: Arc<dyn IngesterConn> = by_name[addr].clone();
        node
    })
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

    async fn metrics_query_range(
        &self,
        tenant: &TenantId,
        req: &tempopb::QueryRangeRequest,
    ) -> Result<tempopb::QueryRangeResponse, RoleError> {
        self.check()?;
        self.ingester.metrics_query_range(tenant, req).await
    }
}
