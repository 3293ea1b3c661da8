//! [`FanoutQuerier`] over real in-process ingesters (memory object store, WAL in a tempdir),
//! each behind a switch that can take it "down" (every call answers `Unavailable`); traces
//! reach them through the ring's [`ReplicatedPusher`].

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use prost::Message;
use strata_common::{ManualClock, SharedClock, TenantId, TraceId};
use strata_config::{BlockConfig, FsyncMode, IngesterConfig, RingConfig};
use strata_ingester::{Ingester, IngesterMetrics};
use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};
use strata_proto::roles::{
    IngesterConn, IngesterHealth, IngesterPusher, IngesterQuerier, PushRequest, PushResponse,
    RoleError, TraceFragments, TracePush,
};
use strata_proto::tempopb;
use strata_ring::{ConnFactory, IngesterPool, Membership, ReplicatedPusher};

use super::FanoutQuerier;

/// A real ingester behind an on/off switch.
struct Node {
    name: String,
    ingester: Ingester,
    down: AtomicBool,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = IngesterConfig::default();
        cfg.wal.path = dir.path().join("wal");
        cfg.wal.fsync = FsyncMode::Never;
        let clock: SharedClock = Arc::new(ManualClock::default());
        let metrics = IngesterMetrics::new(&mut strata_server::Registry::default());
        let store = Arc::new(object_store::memory::InMemory::new());
        let (ingester, _) =
            Ingester::start(cfg, BlockConfig::default(), store, clock, metrics).unwrap();
        Self {
            name: name.to_string(),
            ingester,
            down: AtomicBool::new(false),
            _dir: dir,
        }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), RoleError> {
        if self.down.load(Ordering::SeqCst) {
            Err(RoleError::Unavailable(format!("{} is down", self.name)))
        } else {
            Ok(())
        }
    }

    /// Spans of `id` in this ingester's memory, read directly (ignores the switch).
    async fn spans(&self, id: TraceId) -> usize {
        let f = self
            .ingester
            .find_trace_by_id(&TenantId::single(), &id)
            .await
            .unwrap();
        f.payloads.iter().map(span_count).sum()
    }
}

fn span_count(payload: &Bytes) -> usize {
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
struct Cluster {
    nodes: BTreeMap<String, Arc<Node>>,
    pool: Arc<IngesterPool>,
}

impl Cluster {
    fn start(n: usize, rf: usize) -> Self {
        let nodes: BTreeMap<String, Arc<Node>> = (0..n)
            .map(|i| {
                let name = format!("ingester-{i}");
                (name.clone(), Arc::new(Node::start(&name)))
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

    fn node(&self, name: &str) -> &Node {
        &self.nodes[name]
    }

    async fn push(&self, traces: Vec<TracePush>) {
        let req = PushRequest {
            tenant: TenantId::single(),
            traces,
        };
        ReplicatedPusher::new(self.pool.clone())
            .push(req)
            .await
            .unwrap();
    }

    fn querier(&self) -> FanoutQuerier {
        FanoutQuerier::new(self.pool.clone())
    }

    /// How many ingesters hold spans of `id`.
    async fn holders(&self, id: TraceId) -> usize {
        let mut n = 0;
        for node in self.nodes.values() {
            if node.spans(id).await > 0 {
                n += 1;
            }
        }
        n
    }
}

/// A trace of `spans` spans of service `svc`, starting at `start` seconds.
fn trace(id: TraceId, svc: &str, spans: u8, start: u64) -> TracePush {
    let start_ns = start * 1_000_000_000;
    let spans: Vec<Span> = (1..=spans)
        .map(|s| Span {
            trace_id: id.0.to_vec(),
            span_id: vec![s; 8],
            name: format!("op-{s}"),
            start_time_unix_nano: start_ns + u64::from(s),
            end_time_unix_nano: start_ns + 1_000_000,
            attributes: vec![kv("http.method", "GET")],
            ..Default::default()
        })
        .collect();
    let n = spans.len() as u32;
    let t = tempopb::Trace {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", svc)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: None,
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    TracePush {
        trace_id: id,
        span_count: n,
        start_unix_nano: start_ns,
        end_unix_nano: start_ns + 1_000_000,
        payload: Bytes::from(t.encode_to_vec()),
    }
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn tid(n: u32) -> TraceId {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[15] = 1;
    TraceId(b)
}

#[tokio::test]
async fn fanout_merges_replicas() {
    let c = Cluster::start(3, 3);
    let ids: Vec<_> = (0..4).map(tid).collect();
    c.push(
        ids.iter()
            .enumerate()
            .map(|(i, id)| trace(*id, &format!("svc-{}", i % 2), 3, 100 + i as u64))
            .collect(),
    )
    .await;
    let q = c.querier();
    let tenant = TenantId::single();

    let found = q.find_trace_by_id(&tenant, &ids[0]).await.unwrap();
    assert_eq!(found.payloads.len(), 3, "one share per replica");
    assert!(found.payloads.iter().all(|p| span_count(p) == 3));
    assert!(found.inspected_bytes > 0);

    let search = q
        .search(&tenant, &tempopb::SearchRequest::default())
        .await
        .unwrap();
    let got: Vec<&str> = search.traces.iter().map(|t| t.trace_id.as_str()).collect();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len(),
        4,
        "duplicates: {got:?}"
    );
    let limited = q
        .search(
            &tenant,
            &tempopb::SearchRequest {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.traces.len(), 2);

    let tags = q
        .search_tags(&tenant, &tempopb::SearchTagsRequest::default())
        .await
        .unwrap();
    let resource = tags.scopes.iter().find(|s| s.name == "resource").unwrap();
    assert_eq!(
        resource
            .tags
            .iter()
            .filter(|t| *t == "service.name")
            .count(),
        1
    );
    for s in &tags.scopes {
        assert!(s.tags.windows(2).all(|w| w[0] < w[1]), "{s:?}");
    }

    let values = q
        .search_tag_values(
            &tenant,
            &tempopb::SearchTagValuesRequest {
                tag_name: "resource.service.name".into(),
                v2: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let vals: Vec<&str> = values.tag_values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(vals, ["svc-0", "svc-1"]);

    // RF 3 tolerates two failed members; a third is too many.
    c.node("ingester-0").set_down(true);
    c.node("ingester-1").set_down(true);
    let one = q.find_trace_by_id(&tenant, &ids[0]).await.unwrap();
    assert_eq!(one.payloads.len(), 1);
    c.node("ingester-2").set_down(true);
    let err = q.find_trace_by_id(&tenant, &ids[0]).await.unwrap_err();
    assert!(
        matches!(&err, RoleError::Unavailable(m) if m.contains("3 of 3 ingesters failed")),
        "{err:?}"
    );
}

#[tokio::test]
async fn rf2_reads_tolerate_one_failure_only() {
    let c = Cluster::start(3, 2);
    c.push(vec![trace(tid(9), "svc", 1, 100)]).await;
    assert_eq!(c.holders(tid(9)).await, 2);
    let q = c.querier();
    let tenant = TenantId::single();
    c.node("ingester-0").set_down(true);
    let found = q.find_trace_by_id(&tenant, &tid(9)).await.unwrap();
    assert!(!found.payloads.is_empty());
    c.node("ingester-1").set_down(true);
    assert!(matches!(
        q.search(&tenant, &tempopb::SearchRequest::default()).await,
        Err(RoleError::Unavailable(_))
    ));
}

#[tokio::test]
async fn ready_while_a_quorum_is_healthy() {
    let c = Cluster::start(3, 3);
    let q = c.querier();
    q.ready().await.unwrap();
    c.node("ingester-1").set_down(true);
    c.node("ingester-2").set_down(true);
    c.pool.members().check_now().await;
    let err = q.ready().await.unwrap_err();
    assert_eq!(
        err,
        RoleError::Unavailable("1 ingesters healthy, 2 needed".into())
    );
}
