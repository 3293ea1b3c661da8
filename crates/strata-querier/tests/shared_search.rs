//! A search shared with peer queriers (`querier.search.peers`) against one sequential search
//! of every block: peers served on loopback by the real query API router answer jobs that
//! merge into exactly the single-querier answer, with and without `limit`; a peer that is
//! unreachable, does not know the blocks or is the querier itself leaves the answer whole
//! (its jobs run on the coordinator and are counted as fallbacks, and an unreachable peer is
//! not tried again within `retry_after`); the peer route refuses bad jobs with the right
//! status.

mod blocks;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};
use blocks::*;
use http_body_util::BodyExt;
use object_store::memory::InMemory;
use object_store::ObjectStore;
use prost::Message;
use strata_common::{SystemClock, TenantId};
use strata_proto::tempopb;
use strata_querier::metrics_peer::Outcome;
use strata_querier::peer_wire::{PeerJobRequest, INSTANCE_HEADER, JOB_PATH, VERSION};
use strata_querier::{Forward, Peers, Querier};
use tower::ServiceExt;

/// Serves `q`'s query API on a loopback port; its `host:port`.
async fn serve(q: Querier) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = strata_querier::http::router(q);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A peer querier over `store`, polled, taking any number of jobs at once.
async fn peer(store: &Arc<dyn ObjectStore>, target: u64, poll: bool) -> Querier {
    let mut q = querier(store, target, 2);
    if poll {
        q.blocks().poll().await.unwrap();
    }
    q = with_peer_settings(q, 64);
    q
}

/// `q` rebuilt with `max_jobs_for_peers` (the slots are sized when the querier is made).
fn with_peer_settings(q: Querier, max_jobs_for_peers: usize) -> Querier {
    let mut settings = q.settings().clone();
    settings.search.peers.max_jobs_for_peers = max_jobs_for_peers;
    Querier::new(
        Arc::new(strata_ingester::testing::Node::start("ingester-p", &|_| {})),
        q.blocks().clone(),
        settings,
        q.metrics().clone(),
    )
}

/// A coordinator over `store` (`concurrent` local jobs) sharing with `members`.
async fn coordinator(
    store: &Arc<dyn ObjectStore>,
    target: u64,
    concurrent: usize,
    members: &[String],
) -> Querier {
    let q = querier(store, target, concurrent);
    q.blocks().poll().await.unwrap();
    let cfg = strata_config::QuerierPeersConfig {
        members: members.to_vec(),
        jobs_per_peer: 2,
        retry_after: Duration::from_secs(3600),
        ..Default::default()
    };
    let peers = Peers::new(
        &cfg,
        "0.0.0.0:0",
        q.instance().to_string(),
        None,
        Arc::new(SystemClock),
    );
    q.clone().with_peers(Arc::new(peers))
}

fn forward(tenant: &TenantId) -> Forward {
    Forward {
        authorization: None,
        org_id: Some(HeaderValue::from_str(tenant.as_str()).unwrap()),
    }
}

/// Searches through `q` (shared with its peers) and checks the answer against the
/// sequential search of every block: same traces, whole.
async fn check(q: &Querier, reference: &Querier, tenant: &TenantId, label: &str) {
    let mid = 1_700_000_000 + 600;
    for query in QUERIES {
        for (limit, range) in [
            (100_000, None),
            (100_000, Some((mid, mid + 200))),
            (5, None),
            (20, None),
        ] {
            let req = request(query, limit, range);
            let want = sequential(reference, tenant, &req).await;
            let (got, cut) = q
                .search_shared(tenant, &req, &forward(tenant))
                .await
                .unwrap();
            assert!(cut.is_none());
            let m = got.metrics.unwrap_or_default();
            let label = format!("{label}: {query} limit {limit} {range:?}");
            same(&got.traces, &want, &label);
            assert_eq!(m.completed_jobs, m.total_jobs, "{label}: whole");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_shared_with_peers_answers_like_one_querier() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("shared").unwrap();
    write(&store, &tenant, &mut Rng(5), true).await;
    let reference = querier(&store, 0, 1);
    reference.blocks().poll().await.unwrap();
    let block_bytes = reference.blocks().all(&tenant)[0].reader.meta().size_bytes;
    for target in [0, block_bytes / 3] {
        let (p1, p2) = (
            peer(&store, target, true).await,
            peer(&store, target, true).await,
        );
        let addrs = vec![serve(p1.clone()).await, serve(p2.clone()).await];
        let q = coordinator(&store, target, 1, &addrs).await;
        let label = format!("target {target}");
        check(&q, &reference, &tenant, &label).await;
        let counts = &q.metrics().peer_jobs;
        assert_eq!(counts.get(Outcome::Fallback), 0, "{label}");
        let remote = counts.get(Outcome::Remote);
        let served: u64 = [&p1, &p2]
            .iter()
            .map(|p| p.metrics().peer_jobs.get(Outcome::Served))
            .sum();
        assert!(remote > 0, "{label}: no job ran on a peer");
        // Jobs abandoned by the early exit may have been served without being awaited.
        assert!(
            served >= remote,
            "{label}: {served} served, {remote} answered"
        );
        for p in [&p1, &p2] {
            assert!(
                p.metrics().peer_jobs.get(Outcome::Served) > 0,
                "{label}: a peer idle"
            );
            assert_eq!(p.metrics().peer_jobs.get(Outcome::Refused), 0, "{label}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_fail_leave_the_answer_whole() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("fallback").unwrap();
    write(&store, &tenant, &mut Rng(9), false).await;
    let reference = querier(&store, 0, 1);
    reference.blocks().poll().await.unwrap();
    let req = request("{ }", 100_000, None);
    let want = sequential(&reference, &tenant, &req).await;

    // Nothing listens there.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let q = coordinator(&store, 0, 1, std::slice::from_ref(&dead)).await;
    let (got, _) = q
        .search_shared(&tenant, &req, &forward(&tenant))
        .await
        .unwrap();
    same(&got.traces, &want, "unreachable peer");
    let fallbacks = q.metrics().peer_jobs.get(Outcome::Fallback);
    assert!(
        (1..=2).contains(&fallbacks),
        "{fallbacks}: at most the jobs in flight fail"
    );
    // Down for `retry_after`: the next search does not try it.
    let (got, _) = q
        .search_shared(&tenant, &req, &forward(&tenant))
        .await
        .unwrap();
    same(&got.traces, &want, "unreachable peer, again");
    assert_eq!(q.metrics().peer_jobs.get(Outcome::Fallback), fallbacks);

    // A peer that has not polled the store yet: every job it is sent is 404, run here.
    let blind = peer(&store, 0, false).await;
    let addr = serve(blind.clone()).await;
    let q = coordinator(&store, 0, 1, &[addr]).await;
    let (got, _) = q
        .search_shared(&tenant, &req, &forward(&tenant))
        .await
        .unwrap();
    same(&got.traces, &want, "peer without the blocks");
    let fallbacks = q.metrics().peer_jobs.get(Outcome::Fallback);
    assert!(
        fallbacks > 2,
        "{fallbacks}: a refusal does not mark the peer down"
    );
    assert_eq!(blind.metrics().peer_jobs.get(Outcome::Refused), fallbacks);
    assert_eq!(q.metrics().peer_jobs.get(Outcome::Remote), 0);

    // A peer list naming the coordinator itself: refused once (409), then left out.
    let q = querier(&store, 0, 1);
    q.blocks().poll().await.unwrap();
    let own = serve(q.clone()).await;
    let cfg = strata_config::QuerierPeersConfig {
        members: vec![own],
        jobs_per_peer: 1,
        ..Default::default()
    };
    let peers = Peers::new(
        &cfg,
        "0.0.0.0:0",
        q.instance().to_string(),
        None,
        Arc::new(SystemClock),
    );
    let q = q.with_peers(Arc::new(peers));
    for round in 0..2 {
        let (got, _) = q
            .search_shared(&tenant, &req, &forward(&tenant))
            .await
            .unwrap();
        same(
            &got.traces,
            &want,
            &format!("itself as a peer, round {round}"),
        );
    }
    let counts = &q.metrics().peer_jobs;
    assert_eq!(counts.get(Outcome::Fallback), 1, "one job sent to itself");
    assert_eq!(counts.get(Outcome::Refused), 1);
    assert_eq!(counts.get(Outcome::Served), 0);
}

/// A refused job: label, tenant, instance ID, body, the status wanted.
type Case<'a> = (&'a str, Option<&'a str>, &'a str, Vec<u8>, StatusCode);

/// `POST /internal/search/job` with `body` as `tenant` (none: no `X-Scope-OrgID`).
async fn post(
    q: &Querier,
    tenant: Option<&str>,
    instance: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::post(JOB_PATH).header(INSTANCE_HEADER, instance);
    if let Some(t) = tenant {
        req = req.header("x-scope-orgid", t);
    }
    let resp = strata_querier::http::router(q.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_route_refuses_bad_jobs_and_answers_good_ones() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("route").unwrap();
    write(&store, &tenant, &mut Rng(1), false).await;
    let q = peer(&store, 0, true).await;
    let block = q.blocks().all(&tenant)[0].clone();
    let groups = block
        .reader
        .parquet_metadata()
        .await
        .unwrap()
        .num_row_groups() as u32;
    let good = PeerJobRequest {
        version: VERSION,
        search: Some(request("{ }", 3, None)),
        block_id: block.reader.meta().block_id.to_string(),
        row_group_start: None,
        row_group_end: None,
    };
    let t = Some("route");
    let other = "another-instance";

    let (status, body) = post(&q, t, other, good.encode_to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let resp = tempopb::SearchResponse::decode(body.as_slice()).unwrap();
    let mut want = strata_engine::search::SearchAccumulator::new();
    strata_engine::search::SearchJob::new(&request("{ }", 3, None))
        .unwrap()
        .search_block(&block.reader, &mut want)
        .await
        .unwrap();
    let want = want.finish(u32::MAX as usize);
    assert_eq!(
        resp.traces.len(),
        want.traces.len(),
        "every trace, not the limit"
    );
    same(&resp.traces, &want.traces, "one job");

    let ranged = PeerJobRequest {
        row_group_start: Some(0),
        row_group_end: Some(1),
        ..good.clone()
    };
    assert_eq!(
        post(&q, t, other, ranged.encode_to_vec()).await.0,
        StatusCode::OK
    );

    let cases: Vec<Case> = vec![
        (
            "garbage",
            t,
            other,
            vec![0xff, 0xff, 0x01],
            StatusCode::BAD_REQUEST,
        ),
        (
            "future version",
            t,
            other,
            PeerJobRequest {
                version: VERSION + 1,
                ..good.clone()
            }
            .encode_to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no search",
            t,
            other,
            PeerJobRequest {
                search: None,
                ..good.clone()
            }
            .encode_to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad query",
            t,
            other,
            PeerJobRequest {
                search: Some(request("{ nope", 3, None)),
                ..good.clone()
            }
            .encode_to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad block id",
            t,
            other,
            PeerJobRequest {
                block_id: "x".into(),
                ..good.clone()
            }
            .encode_to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "another tenant's block",
            Some("someone-else"),
            other,
            good.encode_to_vec(),
            StatusCode::NOT_FOUND,
        ),
        (
            "row groups past the end",
            t,
            other,
            PeerJobRequest {
                row_group_start: Some(0),
                row_group_end: Some(groups + 1),
                ..good.clone()
            }
            .encode_to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "half a range",
            t,
            other,
            PeerJobRequest {
                row_group_start: Some(0),
                ..good.clone()
            }
            .encode_to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "sent by itself",
            t,
            q.instance(),
            good.encode_to_vec(),
            StatusCode::CONFLICT,
        ),
        (
            "no tenant",
            None,
            other,
            good.encode_to_vec(),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    let n = cases.len() as u64;
    for (label, tenant, instance, body, status) in cases {
        let (got, body) = post(&q, tenant, instance, body).await;
        assert_eq!(got, status, "{label}: {}", String::from_utf8_lossy(&body));
        assert!(!body.is_empty(), "{label}: the refusal says why");
    }
    // The tenant gate answers before the route: that refusal is not the route's.
    assert_eq!(q.metrics().peer_jobs.get(Outcome::Refused), n - 1);
    assert_eq!(q.metrics().peer_jobs.get(Outcome::Served), 2);
}
