//! Remote-write metrics, per endpoint URL (on `/metrics`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Dropped because newer collections needed the room.
pub const DROP_QUEUE_FULL: &str = "queue_full";
/// Dropped because the endpoint refused the request (a 4xx other than 429).
pub const DROP_REJECTED: &str = "rejected";
/// Dropped because the process stopped before it could send them.
pub const DROP_SHUTDOWN: &str = "shutdown";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UrlLabels {
    pub url: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    pub url: String,
    pub reason: String,
}

/// Every endpoint's metrics.
#[derive(Clone, Default)]
pub struct RemoteWriteMetrics {
    sent: Family<UrlLabels, Counter>,
    dropped: Family<DropLabels, Counter>,
    failures: Family<UrlLabels, Counter>,
    pending: Family<UrlLabels, Gauge>,
}

/// One endpoint's handles.
#[derive(Clone)]
pub struct EndpointMetrics {
    url: String,
    pub sent: Counter,
    pub failures: Counter,
    pub pending: Gauge,
    dropped: Family<DropLabels, Counter>,
}

impl EndpointMetrics {
    pub fn dropped(&self, reason: &str) -> Counter {
        self.dropped
            .get_or_create(&DropLabels {
                url: self.url.clone(),
                reason: reason.to_string(),
            })
            .clone()
    }
}

impl RemoteWriteMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "strata_metrics_generator_remote_write_samples_sent",
            "Samples the remote-write endpoint accepted",
            m.sent.clone(),
        );
        registry.register(
            "strata_metrics_generator_remote_write_samples_dropped",
            "Samples never sent: queue_full (newer collections needed the room), rejected (4xx), shutdown",
            m.dropped.clone(),
        );
        registry.register(
            "strata_metrics_generator_remote_write_send_failures",
            "Remote-write requests that failed and were retried (connection error, timeout, 429, 5xx)",
            m.failures.clone(),
        );
        registry.register(
            "strata_metrics_generator_remote_write_samples_pending",
            "Samples waiting in the endpoint's queue",
            m.pending.clone(),
        );
        m
    }

    pub fn endpoint(&self, url: &str) -> EndpointMetrics {
        let l = UrlLabels {
            url: url.to_string(),
        };
        let m = EndpointMetrics {
            url: url.to_string(),
            sent: self.sent.get_or_create(&l).clone(),
            failures: self.failures.get_or_create(&l).clone(),
            pending: self.pending.get_or_create(&l).clone(),
            dropped: self.dropped.clone(),
        };
        // Every reason exported at 0 from the start, so a rate over it (an alert) has a
        // series before the first drop.
        for reason in [DROP_QUEUE_FULL, DROP_REJECTED, DROP_SHUTDOWN] {
            m.dropped(reason);
        }
        m
    }
}
