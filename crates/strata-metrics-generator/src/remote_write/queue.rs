//! One remote-write endpoint: a bounded queue of collections and the task that sends them.
//!
//! * A collection is split into requests of at most `max_samples_per_send` samples and queued
//!   behind earlier ones: each tenant's series reach the endpoint in collection order.
//! * **Bound.** At most `max_samples` samples wait. A collection that would pass it drops the
//!   oldest waiting requests first (a later collection carries newer cumulative values of the
//!   same series); their samples are counted as dropped, reason `queue_full`. The request
//!   being sent is not in the queue and is never dropped for room.
//! * **Retries.** A connection error, a timeout, `429` or a `5xx` is retried, the same request,
//!   after `min_backoff` doubled per failure up to `max_backoff`, until it is accepted or the
//!   writer stops. Any other non-2xx answer means the endpoint will never take the request:
//!   its samples are dropped and counted, reason `rejected`, and the answer is logged.
//! * **Stop.** [`EndpointQueue::drain`] waits, up to a deadline, for the queue to empty; what is
//!   left is counted as dropped, reason `shutdown`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use reqwest_tls as reqwest;
use reqwest_tls::header::{HeaderMap, HeaderName, HeaderValue};
use strata_config::{RemoteWriteConfig, RemoteWriteQueueConfig};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::metrics::{EndpointMetrics, DROP_QUEUE_FULL, DROP_REJECTED, DROP_SHUTDOWN};
use super::wire::{encode, TimeSeries, WriteRequest, HEADERS};

/// The header naming the tenant to Mimir and Cortex.
pub const ORG_ID_HEADER: &str = "x-scope-orgid";

struct Request {
    tenant: String,
    body: WriteRequest,
}

impl Request {
    fn samples(&self) -> usize {
        self.body.timeseries.iter().map(|s| s.samples.len()).sum()
    }
}

#[derive(Default)]
struct State {
    pending: VecDeque<Request>,
    samples: usize,
    /// A request is being sent (or waiting to be retried).
    busy: bool,
}

/// One endpoint's queue and sender. See the module docs.
pub struct EndpointQueue {
    url: String,
    headers: HeaderMap,
    send_exemplars: bool,
    add_org_id: bool,
    cfg: RemoteWriteQueueConfig,
    client: reqwest::Client,
    state: Mutex<State>,
    wake: Notify,
    idle: Notify,
    metrics: EndpointMetrics,
}

/// Why a send did not succeed.
enum SendError {
    Retry(String),
    Reject(String),
}

impl EndpointQueue {
    pub fn new(
        rw: &RemoteWriteConfig,
        add_org_id: bool,
        cfg: &RemoteWriteQueueConfig,
        metrics: EndpointMetrics,
    ) -> Result<Arc<Self>, String> {
        let mut headers = HeaderMap::new();
        for (k, v) in HEADERS {
            headers.insert(k, HeaderValue::from_static(v));
        }
        for (k, v) in &rw.headers {
            let name =
                HeaderName::try_from(k.as_str()).map_err(|e| format!("header {k:?}: {e}"))?;
            let value =
                HeaderValue::try_from(v.as_str()).map_err(|e| format!("header {k:?}: {e}"))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "strata-metrics-generator/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(cfg.remote_timeout)
            .connect_timeout(cfg.remote_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("remote write client for {}: {e}", rw.url))?;
        Ok(Arc::new(Self {
            url: rw.url.clone(),
            add_org_id: add_org_id && !headers.contains_key(ORG_ID_HEADER),
            headers,
            send_exemplars: rw.send_exemplars,
            cfg: cfg.clone(),
            client,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            idle: Notify::new(),
            metrics,
        }))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues one tenant's collection (see the module docs for the bound).
    pub fn enqueue(&self, tenant: &str, mut series: Vec<TimeSeries>) {
        if series.is_empty() {
            return;
        }
        if !self.send_exemplars {
            for s in &mut series {
                s.exemplars.clear();
            }
        }
        let per = self.cfg.max_samples_per_send.max(1);
        let mut st = self.state.lock();
        while !series.is_empty() {
            let rest = if series.len() > per {
                series.split_off(per)
            } else {
                Vec::new()
            };
            let req = Request {
                tenant: tenant.to_string(),
                body: WriteRequest { timeseries: series },
            };
            st.samples += req.samples();
            st.pending.push_back(req);
            series = rest;
        }
        while st.samples > self.cfg.max_samples {
            let Some(old) = st.pending.pop_front() else {
                break;
            };
            let n = old.samples();
            st.samples -= n;
            self.metrics.dropped(DROP_QUEUE_FULL).inc_by(n as u64);
        }
        self.metrics.pending.set(st.samples as i64);
        drop(st);
        self.wake.notify_one();
    }

    /// Samples waiting (not counting a request being sent).
    pub fn pending_samples(&self) -> usize {
        self.state.lock().samples
    }

    fn take(&self) -> Option<Request> {
        let mut st = self.state.lock();
        let req = st.pending.pop_front();
        match &req {
            Some(r) => {
                st.samples -= r.samples();
                st.busy = true;
            }
            None => st.busy = false,
        }
        self.metrics.pending.set(st.samples as i64);
        req
    }

    /// Sends queued requests until `stop` fires.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            while let Some(req) = self.take() {
                if !self.send_until_done(&req, &stop).await {
                    self.metrics
                        .dropped(DROP_SHUTDOWN)
                        .inc_by(req.samples() as u64);
                    return;
                }
            }
            self.idle.notify_waiters();
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Sends `req`, retrying as the module docs say; false when `stop` fired first.
    async fn send_until_done(&self, req: &Request, stop: &CancellationToken) -> bool {
        let body = bytes::Bytes::from(encode(&req.body));
        let samples = req.samples() as u64;
        let mut backoff = self.cfg.min_backoff;
        loop {
            match self.send_once(&req.tenant, body.clone()).await {
                Ok(()) => {
                    self.metrics.sent.inc_by(samples);
                    return true;
                }
                Err(SendError::Reject(why)) => {
                    tracing::warn!(url = %self.url, tenant = %req.tenant, samples, error = %why,
                        "remote write rejected; dropping the request");
                    self.metrics.dropped(DROP_REJECTED).inc_by(samples);
                    return true;
                }
                Err(SendError::Retry(why)) => {
                    self.metrics.failures.inc();
                    tracing::debug!(url = %self.url, error = %why, ?backoff, "remote write failed; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => return false,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(self.cfg.max_backoff);
                }
            }
        }
    }

    async fn send_once(&self, tenant: &str, body: bytes::Bytes) -> Result<(), SendError> {
        let mut rb = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(body);
        if self.add_org_id {
            rb = rb.header(ORG_ID_HEADER, tenant);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let msg = format!("{status}: {}", text.trim());
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Retry(msg))
        } else {
            Err(SendError::Reject(msg))
        }
    }

    /// Waits until nothing is queued or being sent, or `deadline` passed; returns the samples
    /// still waiting (counted as dropped when the writer then stops).
    pub async fn drain(&self, deadline: Duration) -> usize {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let idle = self.idle.notified();
            {
                let st = self.state.lock();
                if st.pending.is_empty() && !st.busy {
                    return 0;
                }
            }
            if tokio::time::timeout_at(until, idle).await.is_err() {
                return self.discard();
            }
        }
    }

    /// Drops everything waiting, counted as `shutdown`; returns the samples dropped.
    fn discard(&self) -> usize {
        let mut st = self.state.lock();
        let n = st.samples;
        st.pending.clear();
        st.samples = 0;
        self.metrics.pending.set(0);
        self.metrics.dropped(DROP_SHUTDOWN).inc_by(n as u64);
        n
    }
}

impl std::fmt::Debug for EndpointQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointQueue")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}
