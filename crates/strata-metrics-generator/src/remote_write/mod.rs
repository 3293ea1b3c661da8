//! Prometheus remote write of the generated series (`metrics_generator.storage.remote_write`).
//!
//! Every `registry.collection_interval` [`crate::MetricsGenerator::run`] takes a collection
//! ([`collect`]: every tenant's series at one timestamp) and hands each tenant's part to every
//! endpoint's queue ([`queue`]: bounded, retried with backoff, every dropped sample counted by
//! reason, [`metrics`]); requests are encoded as the remote-write 1.0 specification says
//! ([`wire`]). At stop, one last collection is queued and sent within a deadline.

pub mod collect;
pub mod metrics;
pub mod queue;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use strata_config::MetricsGeneratorConfig;
use tokio_util::sync::CancellationToken;

use self::collect::CollectOptions;
use self::metrics::RemoteWriteMetrics;
use self::queue::EndpointQueue;
use self::wire::TimeSeries;

/// How long the last collection may take to send at stop.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// Every configured endpoint.
#[derive(Debug)]
pub struct RemoteWriter {
    endpoints: Vec<Arc<EndpointQueue>>,
    external_labels: BTreeMap<String, String>,
    /// Time of the previous collection: exemplars up to it were sent.
    last_collection_ms: Mutex<Option<u64>>,
    stop: CancellationToken,
}

impl RemoteWriter {
    /// The writer `cfg.storage.remote_write` describes, or `None` when it names no endpoint.
    pub fn from_config(
        cfg: &MetricsGeneratorConfig,
        metrics: &RemoteWriteMetrics,
    ) -> Result<Option<Self>, String> {
        let st = &cfg.storage;
        if st.remote_write.is_empty() {
            return Ok(None);
        }
        let endpoints = st
            .remote_write
            .iter()
            .map(|rw| {
                EndpointQueue::new(
                    rw,
                    st.remote_write_add_org_id_header,
                    &st.queue,
                    metrics.endpoint(&rw.url),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Self {
            endpoints,
            external_labels: cfg.registry.external_labels.clone(),
            last_collection_ms: Mutex::new(None),
            stop: CancellationToken::new(),
        }))
    }

    pub fn endpoints(&self) -> &[Arc<EndpointQueue>] {
        &self.endpoints
    }

    /// Starts one sending task per endpoint; they run until [`RemoteWriter::stop`].
    pub fn spawn(&self) -> Vec<tokio::task::JoinHandle<()>> {
        self.endpoints
            .iter()
            .map(|e| tokio::spawn(e.clone().run(self.stop.clone())))
            .collect()
    }

    /// The options of a collection at `now_ms`, remembering it as the last one.
    pub(crate) fn options(&self, now_ms: u64) -> CollectOptions<'_> {
        let after = self.last_collection_ms.lock().replace(now_ms).unwrap_or(0);
        CollectOptions {
            external_labels: Some(&self.external_labels),
            exemplars_after_ms: Some(after),
        }
    }

    /// Queues one tenant's part of a collection at every endpoint.
    pub(crate) fn enqueue(&self, tenant: &str, series: Vec<TimeSeries>) {
        if let Some((last, rest)) = self.endpoints.split_last() {
            for e in rest {
                e.enqueue(tenant, series.clone());
            }
            last.enqueue(tenant, series);
        }
    }

    /// Sends what is queued within `deadline`, then stops the sending tasks; what could not be
    /// sent is counted as dropped (`shutdown`).
    pub async fn stop(&self, deadline: Duration) {
        let drains = self.endpoints.iter().map(|e| e.drain(deadline));
        let left: usize = futures::future::join_all(drains).await.into_iter().sum();
        if left > 0 {
            tracing::warn!(samples = left, "remote write stopped with samples unsent");
        }
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests;
