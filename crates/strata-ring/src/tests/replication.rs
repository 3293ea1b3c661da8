//! Replicated pushes and fanned-out calls over real ingesters (merging their answers is
//! tested with the querier's `FanoutQuerier`).

use std::sync::atomic::Ordering;

use strata_common::TenantId;
use strata_proto::roles::{IngesterPusher, PushErrorReason, RoleError};

use super::cluster::{push_of, span_count, tid, trace, Cluster};

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn rf3_push_lands_on_every_wal() {
    let c = Cluster::start(3, 3);
    let traces: Vec<_> = (0..5).map(|i| trace(tid(i), "svc", 2, 100)).collect();
    let resp = c.pusher().push(push_of(traces)).await.unwrap();
    assert!(resp.errors_by_trace.is_empty());
    for i in 0..5 {
        for node in c.nodes.values() {
            assert_eq!(node.spans(tid(i)).await, 2, "{} lacks trace {i}", node.name);
        }
    }
}

#[tokio::test]
async fn one_down_still_reaches_quorum() {
    let c = Cluster::start(3, 3);
    c.node("ingester-0").set_down(true);
    // Still believed healthy: its call fails, the other two owners make the quorum.
    c.pusher()
        .push(push_of(vec![trace(tid(1), "svc", 1, 100)]))
        .await
        .unwrap();
    assert_eq!(c.holders(tid(1)).await, ["ingester-1", "ingester-2"]);
    // The failed push took it off the ring without waiting for a probe: not even tried.
    assert!(!c.pool.members().is_healthy("ingester-0"));
    let calls = |c: &Cluster| c.node("ingester-0").pushes.load(Ordering::SeqCst);
    let tried = calls(&c);
    c.pusher()
        .push(push_of(vec![trace(tid(2), "svc", 1, 100)]))
        .await
        .unwrap();
    assert_eq!(c.holders(tid(2)).await, ["ingester-1", "ingester-2"]);
    assert_eq!(calls(&c), tried);
    // Back once a probe passes.
    c.node("ingester-0").set_down(false);
    c.pool.members().check_now().await;
    assert!(c.pool.members().is_healthy("ingester-0"));
}

#[tokio::test]
async fn two_down_fails_and_says_why() {
    let c = Cluster::start(3, 3);
    c.node("ingester-0").set_down(true);
    c.node("ingester-1").set_down(true);
    let err = c
        .pusher()
        .push(push_of(vec![
            trace(tid(1), "svc", 1, 100),
            trace(tid(2), "svc", 1, 100),
        ]))
        .await
        .unwrap_err();
    let RoleError::Unavailable(msg) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(
        msg.contains("2 of 2 traces reached only 1 of 2 required copies"),
        "{msg}"
    );
    assert!(msg.contains("is down"), "{msg}");
    // Once the health checks know, the push is refused before any call.
    c.pool.members().check_now().await;
    let before = c
        .node("ingester-2")
        .pushes
        .load(std::sync::atomic::Ordering::SeqCst);
    let err = c
        .pusher()
        .push(push_of(vec![trace(tid(3), "svc", 1, 100)]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RoleError::Unavailable(m) if m.contains("only 1 of 3 ingesters are healthy")),
        "{err:?}"
    );
    let after = c
        .node("ingester-2")
        .pushes
        .load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(before, after);
}

#[tokio::test]
async fn backpressure_everywhere_is_resource_exhausted() {
    // Real ingester backpressure: past 1 unflushed byte every push is refused.
    let c = Cluster::start_with(3, 3, &|cfg| cfg.max_unflushed_bytes = 1);
    c.pusher()
        .push(push_of(vec![trace(tid(1), "svc", 1, 100)]))
        .await
        .unwrap();
    let err = c
        .pusher()
        .push(push_of(vec![trace(tid(2), "svc", 1, 100)]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RoleError::ResourceExhausted(m) if m.contains("reached only 0 of 2")),
        "{err:?}"
    );
    assert!(c.holders(tid(2)).await.is_empty());
    // Backpressure says "slow down", not "down": every member stays on the ring.
    assert_eq!(c.pool.members().healthy_count(), 3);
}

#[tokio::test]
async fn failed_owner_hands_off_to_the_next_member() {
    let c = Cluster::start(5, 3);
    c.node("ingester-0").set_down(true);
    let ids: Vec<_> = (0..40).map(tid).collect();
    let resp = c
        .pusher()
        .push(push_of(
            ids.iter().map(|id| trace(*id, "svc", 1, 100)).collect(),
        ))
        .await
        .unwrap();
    assert!(resp.errors_by_trace.is_empty());
    let mut handed_off = 0;
    for id in ids {
        let prefs = c.prefs(id);
        if prefs[..3].contains(&"ingester-0".to_string()) {
            handed_off += 1;
        }
        let want: Vec<String> = prefs
            .into_iter()
            .filter(|m| m != "ingester-0")
            .take(3)
            .collect();
        assert_eq!(c.holders(id).await, sorted(want), "trace {id}");
    }
    assert!(handed_off > 0, "no trace was owned by the down ingester");
}

#[tokio::test]
async fn limit_refusals_are_reported_per_trace_and_not_retried() {
    let c = Cluster::start(5, 3);
    let (a, big, d) = (tid(1), tid(2), tid(3));
    // `big` has 20 spans, the others 1: every ingester takes small traces only.
    let small = trace(a, "svc", 1, 100).payload.len() as u64;
    for node in c.nodes.values() {
        node.limit_trace_bytes(small * 4);
    }
    // `d`'s first owner takes no trace at all.
    let d_prefs = c.prefs(d);
    c.node(&d_prefs[0]).limit_trace_bytes(1);
    let resp = c
        .pusher()
        .push(push_of(vec![
            trace(a, "svc", 1, 100),
            trace(big, "svc", 20, 100),
            trace(d, "svc", 1, 100),
        ]))
        .await
        .unwrap();
    assert_eq!(
        resp.errors_by_trace,
        [
            PushErrorReason::NoError,
            PushErrorReason::TraceTooLarge,
            PushErrorReason::NoError
        ]
    );
    assert!(
        c.holders(big).await.is_empty(),
        "refused trace stored somewhere"
    );
    // `a` is refused only where every trace is (`d`'s first owner), and not handed off either.
    let a_want: Vec<String> = c.prefs(a)[..3]
        .iter()
        .filter(|m| **m != d_prefs[0])
        .cloned()
        .collect();
    assert_eq!(c.holders(a).await, sorted(a_want));
    // One refusal, two copies: stored (quorum 2), and not sent to a fourth member.
    assert_eq!(c.holders(d).await, sorted(d_prefs[1..3].to_vec()));
}

#[tokio::test]
async fn fan_out_reaches_every_replica_and_tolerates_r_minus_1_failures() {
    let c = Cluster::start(3, 3);
    c.pusher()
        .push(push_of(vec![trace(tid(1), "svc", 3, 100)]))
        .await
        .unwrap();
    let (tenant, id) = (&TenantId::single(), &tid(1));
    let find = || {
        c.pool.fan_out("trace by id", |conn| async move {
            conn.find_trace_by_id(tenant, id).await
        })
    };
    let all = find().await.unwrap();
    assert_eq!(all.len(), 3, "one answer per member");
    assert!(all
        .iter()
        .all(|f| f.payloads.len() == 1 && span_count(&f.payloads[0]) == 3));

    // RF 3 tolerates two failed members; a third is too many.
    c.node("ingester-0").set_down(true);
    c.node("ingester-1").set_down(true);
    assert_eq!(find().await.unwrap().len(), 1);
    c.node("ingester-2").set_down(true);
    let err = find().await.unwrap_err();
    assert!(
        matches!(&err, RoleError::Unavailable(m)
            if m.contains("trace by id: 3 of 3 ingesters failed (at most 2 tolerated)")
                && m.contains("ingester-0: ingester-0 is down")),
        "{err:?}"
    );
}

#[tokio::test]
async fn rf3_on_one_member_still_works() {
    let c = Cluster::start(1, 3);
    c.pusher()
        .push(push_of(vec![trace(tid(5), "svc", 1, 100)]))
        .await
        .unwrap();
    assert_eq!(c.holders(tid(5)).await, ["ingester-0"]);
}

/// Sum over the nodes of the counted (non-replica) spans of each trace.
fn counted(c: &Cluster, ids: &[strata_common::TraceId]) -> Vec<usize> {
    ids.iter()
        .map(|id| c.nodes.values().map(|n| n.counted_spans(*id)).sum())
        .collect()
}

#[tokio::test]
async fn exactly_one_copy_of_each_share_is_counted() {
    let c = Cluster::start(3, 3);
    let ids: Vec<_> = (0..30).map(tid).collect();
    let traces = ids.iter().map(|id| trace(*id, "svc", 2, 100)).collect();
    c.pusher().push(push_of(traces)).await.unwrap();
    assert_eq!(counted(&c, &ids), vec![2; ids.len()]);
    // The counted copies are spread over the members (the first owner of each trace).
    for (name, node) in &c.nodes {
        let own = ids.iter().filter(|id| node.counted_spans(**id) > 0).count();
        assert!(own > 0, "{name} holds no counted copy");
    }
    for id in &ids {
        assert_eq!(c.holders(*id).await.len(), 3);
    }
}

#[tokio::test]
async fn the_counted_copy_follows_handoff_and_survives_a_failed_owner() {
    // Five members: a failed first owner hands its counted copy to the next member.
    let c = Cluster::start(5, 3);
    c.node("ingester-0").set_down(true);
    let ids: Vec<_> = (0..40).map(tid).collect();
    let traces = ids.iter().map(|id| trace(*id, "svc", 3, 100)).collect();
    c.pusher().push(push_of(traces)).await.unwrap();
    assert_eq!(counted(&c, &ids), vec![3; ids.len()]);
    let first_owned = ids
        .iter()
        .filter(|id| c.prefs(**id)[0] == "ingester-0")
        .count();
    assert!(first_owned > 0, "no trace had the failed member first");

    // Three members, one failing while still believed healthy: no member is left to hand off
    // to, so a holder of a replica copy also gets the counted copy.
    let c = Cluster::start(3, 3);
    c.node("ingester-1").set_down(true);
    let traces = ids.iter().map(|id| trace(*id, "svc", 3, 100)).collect();
    c.pusher().push(push_of(traces)).await.unwrap();
    assert_eq!(counted(&c, &ids), vec![3; ids.len()]);
}
