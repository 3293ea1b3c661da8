//! The remote-write queue against a real HTTP server on loopback whose answers the test
//! scripts (the real Prometheus is in `tests/e2e/generator.rs`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use strata_config::{RemoteWriteConfig, RemoteWriteQueueConfig};
use tokio_util::sync::CancellationToken;

use super::metrics::{RemoteWriteMetrics, DROP_QUEUE_FULL, DROP_REJECTED, DROP_SHUTDOWN};
use super::queue::EndpointQueue;
use super::wire::{decode, Label, Sample, TimeSeries};

#[derive(Default)]
struct Script {
    /// Statuses to answer, in order; 204 once exhausted.
    answers: VecDeque<u16>,
    /// (X-Scope-OrgID, value of series "n" of each request) of accepted requests.
    accepted: Vec<(String, Vec<f64>)>,
    calls: usize,
}

type Shared = Arc<Mutex<Script>>;

async fn write(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut s = s.lock();
    s.calls += 1;
    let code = s.answers.pop_front().unwrap_or(204);
    if code == 204 {
        assert_eq!(headers["content-encoding"], "snappy");
        assert_eq!(headers["x-prometheus-remote-write-version"], "0.1.0");
        let req = decode(&body).expect("a valid remote-write body");
        let org = headers
            .get("x-scope-orgid")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        s.accepted.push((
            org,
            req.timeseries.iter().map(|t| t.samples[0].value).collect(),
        ));
    }
    StatusCode::from_u16(code).unwrap()
}

async fn endpoint(answers: &[u16]) -> (String, Shared) {
    let script: Shared = Arc::new(Mutex::new(Script {
        answers: answers.iter().copied().collect(),
        ..Default::default()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/v1/write", post(write))
        .with_state(script.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/api/v1/write"), script)
}

fn series(values: &[f64]) -> Vec<TimeSeries> {
    values
        .iter()
        .map(|v| TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: "n".into(),
            }],
            samples: vec![Sample {
                value: *v,
                timestamp: 1,
            }],
            exemplars: vec![],
        })
        .collect()
}

fn queue_cfg(max_samples: usize, per_send: usize) -> RemoteWriteQueueConfig {
    RemoteWriteQueueConfig {
        max_samples,
        max_samples_per_send: per_send,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        remote_timeout: Duration::from_secs(5),
    }
}

fn queue(
    url: &str,
    cfg: RemoteWriteQueueConfig,
) -> (Arc<EndpointQueue>, super::metrics::EndpointMetrics) {
    let m = RemoteWriteMetrics::default().endpoint(url);
    let rw = RemoteWriteConfig {
        url: url.to_string(),
        ..Default::default()
    };
    (EndpointQueue::new(&rw, true, &cfg, m.clone()).unwrap(), m)
}

async fn until(mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 5 s");
}

#[tokio::test]
async fn failed_sends_are_retried_in_order_until_the_endpoint_takes_them() {
    let (url, script) = endpoint(&[503, 429, 500]).await;
    let (q, m) = queue(&url, queue_cfg(1_000, 2));
    let stop = CancellationToken::new();
    let task = tokio::spawn(q.clone().run(stop.clone()));
    q.enqueue("t1", series(&[1.0, 2.0, 3.0]));
    q.enqueue("t2", series(&[4.0]));
    until(|| m.sent.get() == 4).await;
    let (accepted, calls) = {
        let s = script.lock();
        (s.accepted.clone(), s.calls)
    };
    // Requests of at most 2 samples, in order, each tenant under its org ID.
    assert_eq!(
        accepted,
        vec![
            ("t1".to_string(), vec![1.0, 2.0]),
            ("t1".to_string(), vec![3.0]),
            ("t2".to_string(), vec![4.0]),
        ]
    );
    assert_eq!(calls, 6);
    assert_eq!(m.failures.get(), 3);
    assert_eq!(m.dropped(DROP_QUEUE_FULL).get(), 0);
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn a_refused_request_is_dropped_and_counted_and_the_next_one_goes_on() {
    let (url, script) = endpoint(&[400]).await;
    let (q, m) = queue(&url, queue_cfg(1_000, 10));
    let stop = CancellationToken::new();
    tokio::spawn(q.clone().run(stop.clone()));
    q.enqueue("t", series(&[1.0, 2.0]));
    q.enqueue("t", series(&[3.0]));
    until(|| m.sent.get() == 1).await;
    assert_eq!(m.dropped(DROP_REJECTED).get(), 2);
    assert_eq!(script.lock().accepted, vec![("t".to_string(), vec![3.0])]);
    stop.cancel();
}

#[tokio::test]
async fn past_the_bound_the_oldest_waiting_collections_make_room() {
    // Nothing sends (no task runs): the queue alone.
    let (q, m) = queue("http://127.0.0.1:9/api/v1/write", queue_cfg(10, 100));
    for i in 0..3 {
        q.enqueue("t", series(&[i as f64; 6]));
    }
    assert_eq!(m.dropped(DROP_QUEUE_FULL).get(), 12);
    assert_eq!(q.pending_samples(), 6);
    assert_eq!(m.pending.get(), 6);
    // At stop, what is left is counted too.
    assert_eq!(q.drain(Duration::from_millis(50)).await, 6);
    assert_eq!(m.dropped(DROP_SHUTDOWN).get(), 6);
    assert_eq!(q.pending_samples(), 0);
}

#[tokio::test]
async fn while_the_endpoint_is_down_nothing_within_the_bound_is_lost() {
    // A port nobody listens on yet.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let (q, m) = queue(&url, queue_cfg(1_000, 100));
    let stop = CancellationToken::new();
    tokio::spawn(q.clone().run(stop.clone()));
    for i in 0..5 {
        q.enqueue("t", series(&[i as f64]));
    }
    until(|| m.failures.get() >= 3).await;
    // The endpoint comes up on that port.
    let script: Shared = Arc::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let app = Router::new()
        .route("/api/v1/write", post(write))
        .with_state(script.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    until(|| m.sent.get() == 5).await;
    let got: Vec<f64> = script
        .lock()
        .accepted
        .iter()
        .flat_map(|(_, v)| v.clone())
        .collect();
    assert_eq!(got, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(m.dropped(DROP_QUEUE_FULL).get(), 0);
    stop.cancel();
}

#[tokio::test]
async fn a_configured_org_id_header_wins_over_the_tenant() {
    let (url, script) = endpoint(&[]).await;
    let m = RemoteWriteMetrics::default().endpoint(&url);
    let rw = RemoteWriteConfig {
        url: url.clone(),
        headers: [("X-Scope-OrgID".to_string(), "fixed".to_string())].into(),
        send_exemplars: false,
    };
    let q = EndpointQueue::new(&rw, true, &queue_cfg(100, 100), m.clone()).unwrap();
    tokio::spawn(q.clone().run(CancellationToken::new()));
    q.enqueue("t", series(&[1.0]));
    until(|| m.sent.get() == 1).await;
    assert_eq!(script.lock().accepted[0].0, "fixed");
}
