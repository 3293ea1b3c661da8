//! [`FanoutQuerier`] over real in-process ingesters (`strata_ingester::testing`: memory object
//! store, WAL in a tempdir), each behind a switch that can take it "down" (every call answers
//! `Unavailable`); traces reach them through the ring's [`ReplicatedPusher`].

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use strata_common::{TenantId, TraceId};
use strata_config::RingConfig;
use strata_ingester::testing::{conn_factory, span_count, start_nodes, Node};
use strata_proto::roles::{IngesterHealth, IngesterPusher, IngesterQuerier, RoleError, TracePush};
use strata_proto::tempopb;
use strata_ring::{ConnFactory, IngesterPool, Membership, ReplicatedPusher};
use strata_testkit::{push_request, service_trace as trace, trace_id_front as tid};

use super::FanoutQuerier;

/// `n` ingesters named `ingester-0`…, a pool over them with replication factor `rf`.
struct Cluster {
    nodes: BTreeMap<String, Arc<Node>>,
    pool: Arc<IngesterPool>,
}

impl Cluster {
    fn start(n: usize, rf: usize) -> Self {
        let nodes = start_nodes(n, &|_| {});
        let cfg = RingConfig {
            replication_factor: rf,
            members: nodes.keys().cloned().collect(),
            ..Default::default()
        };
        let factory: ConnFactory = conn_factory(&nodes);
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
        ReplicatedPusher::new(self.pool.clone())
            .push(push_request(traces))
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
