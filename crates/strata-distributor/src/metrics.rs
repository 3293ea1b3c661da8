//! The distributor's Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DiscardLabels {
    pub tenant: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabels {
    pub protocol: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DatagramLabels {
    pub receiver: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReceiverLabels {
    pub receiver: String,
    pub result: String,
}

#[derive(Clone)]
pub struct DistributorMetrics {
    pub spans_received: Family<TenantLabels, Counter>,
    pub bytes_received: Family<TenantLabels, Counter>,
    pub spans_discarded: Family<DiscardLabels, Counter>,
    pub push_seconds: Family<ProtocolLabels, Histogram>,
    /// Attributes whose key or string value was cut to `max_attribute_bytes`.
    pub attributes_truncated: Family<TenantLabels, Counter>,
    /// Spans that head sampling did not keep (accepted, not stored), by reason.
    pub spans_sampled_out: Family<DiscardLabels, Counter>,
    /// Traces (this push's share of each) that head sampling did not keep, by reason.
    pub traces_sampled_out: Family<DiscardLabels, Counter>,
    /// Pushes whose hand-off to trace-derived metrics failed (the push itself went on).
    pub span_handoff_failures: Family<TenantLabels, Counter>,
    /// Spans per receiver whose request was acknowledged (`accepted`) or failed (`refused`).
    pub receiver_spans: Family<ReceiverLabels, Counter>,
    /// UDP datagrams not taken in (UDP has no reply to report it), by receiver and reason.
    pub udp_datagrams_dropped: Family<DatagramLabels, Counter>,
}

impl DistributorMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            spans_received: Family::default(),
            bytes_received: Family::default(),
            spans_discarded: Family::default(),
            push_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 17))
            }),
            attributes_truncated: Family::default(),
            spans_sampled_out: Family::default(),
            traces_sampled_out: Family::default(),
            span_handoff_failures: Family::default(),
            receiver_spans: Family::default(),
            udp_datagrams_dropped: Family::default(),
        };
        registry.register(
            "strata_distributor_spans_received",
            "Spans accepted and acknowledged",
            m.spans_received.clone(),
        );
        registry.register(
            "strata_distributor_bytes_received",
            "Request bytes (after decompression) of accepted pushes",
            m.bytes_received.clone(),
        );
        registry.register(
            "strata_discarded_spans",
            "Spans refused, by reason",
            m.spans_discarded.clone(),
        );
        registry.register(
            "strata_distributor_push_duration_seconds",
            "Time from receiving a push to acknowledging it",
            m.push_seconds.clone(),
        );
        registry.register(
            "strata_distributor_attributes_truncated",
            "Attributes whose key or string value was truncated to max_attribute_bytes",
            m.attributes_truncated.clone(),
        );
        registry.register(
            "strata_distributor_spans_sampled_out",
            "Spans accepted but not stored because head sampling did not keep their trace, by reason",
            m.spans_sampled_out.clone(),
        );
        registry.register(
            "strata_distributor_traces_sampled_out",
            "Traces (each push's share) accepted but not stored because head sampling did not keep them, by reason",
            m.traces_sampled_out.clone(),
        );
        registry.register(
            "strata_distributor_span_handoff_failures",
            "Pushes whose hand-off to trace-derived metrics failed (the push itself went on)",
            m.span_handoff_failures.clone(),
        );
        registry.register(
            "strata_distributor_receiver_spans",
            "Spans by receiver, in requests acknowledged (result=accepted) or failed (result=refused)",
            m.receiver_spans.clone(),
        );
        registry.register(
            "strata_distributor_udp_datagrams_dropped",
            "UDP datagrams dropped (too large, undecodable, or refused by the pipeline), by receiver and reason",
            m.udp_datagrams_dropped.clone(),
        );
        m
    }

    /// Counts the `spans` of one request `receiver` handed over, by `result`.
    pub fn receiver_spans(&self, receiver: &str, result: &str, spans: usize) {
        self.receiver_spans
            .get_or_create(&ReceiverLabels {
                receiver: receiver.to_string(),
                result: result.to_string(),
            })
            .inc_by(spans as u64);
    }

    /// Counts one UDP datagram `receiver` dropped for `reason`.
    pub fn udp_dropped(&self, receiver: &str, reason: &str) {
        self.udp_datagrams_dropped
            .get_or_create(&DatagramLabels {
                receiver: receiver.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// One trace share of `spans` spans not kept by sampling.
    pub fn sampled_out(&self, tenant: &str, reason: &str, spans: usize) {
        let labels = DiscardLabels {
            tenant: tenant.to_string(),
            reason: reason.to_string(),
        };
        self.spans_sampled_out
            .get_or_create(&labels)
            .inc_by(spans as u64);
        self.traces_sampled_out.get_or_create(&labels).inc();
    }

    pub fn observe_push(&self, protocol: &str, took: std::time::Duration) {
        self.push_seconds
            .get_or_create(&ProtocolLabels {
                protocol: protocol.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn discard(&self, tenant: &str, reason: &str, spans: usize) {
        self.spans_discarded
            .get_or_create(&DiscardLabels {
                tenant: tenant.to_string(),
                reason: reason.to_string(),
            })
            .inc_by(spans as u64);
    }
}
