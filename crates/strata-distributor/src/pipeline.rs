//! The ingest pipeline: what happens to one received request, stage by stage.
//!
//! ```text
//! receive (any protocol) ─► rate limit ─► validate ─► truncate ─► group ─► metrics hand-off
//!                                                                         ─► head sampling ─► replicate
//! ```
//!
//! 1. **Receive** — a receiver (OTLP/gRPC, OTLP/HTTP, …) decodes its protocol into OTLP and
//!    resolves the tenant; it hands the pipeline a [`Received`] request.
//! 2. **Rate limit** ([`stage::rate_limit`]) on the protobuf-encoded size, computed once here;
//!    then early backpressure ([`IngesterPusher::admit`]): an in-process ingester refuses its
//!    share of pushes here, before the work of the stages below is spent on them.
//! 3. **Validate** ([`stage::validate`]): the only ID check; one bad ID refuses the request.
//! 4. **Truncate** ([`stage::truncate`]) attribute keys and values to `max_attribute_bytes`.
//! 5. **Group** ([`stage::group`]) spans by trace ID into [`TraceSpans`].
//! 6. **Metrics hand-off** ([`stage::handoff`]): every accepted span, before sampling, goes to
//!    the [`SpanConsumer`]; its failure never fails the push.
//! 7. **Head sampling** ([`stage::sample`]): the [`Sampler`] keeps whole traces; by default
//!    the tenant's consistent head sampling ([`stage::head_sample`]).
//! 8. **Replicate** ([`stage::replicate`]): encode once and push to the ingesters; returns when
//!    durable.
//!
//! OTLP protobuf bodies may skip decoding, validate, truncate, group, hand-off and sampling
//! when none of them would change or look at anything ([`fast`], [`Pipeline::scan_fast`]): they
//! are then cut into per-trace shares in wire format, with the same answers and counters.
//!
//! Invariants: a request is refused whole or accepted whole (only the ingesters' per-trace
//! limits and sampling drop part of it, and both are counted; the limits' part is returned as
//! [`Accepted`], which OTLP receivers answer as `partial_success`); every refused or dropped span is
//! counted once, under exactly one reason, in `strata_discarded_spans_total{tenant,reason}` or
//! `strata_distributor_spans_sampled_out_total{tenant,reason}`. A new protocol is a receiver that
//! produces a [`Received`]; a new stage is a module of [`stage`] called from [`Pipeline::run`]
//! in its place; a new consumer of all spans implements [`SpanConsumer`].

use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use strata_common::{SharedClock, TenantId};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::roles::{IngesterPusher, PushErrorReason, SpanConsumer, TraceSpans};
use strata_proto::status::ApiError;
use strata_server::Overrides;

use crate::metrics::{DistributorMetrics, TenantLabels};
use crate::stage::{self, handoff, rate_limit::RateLimit, replicate::Replicate, sample::Sampler};

/// A request as a receiver hands it over.
#[derive(Debug, Clone)]
pub struct Received {
    pub tenant: TenantId,
    pub request: ExportTraceServiceRequest,
    /// Bytes of the request body as received (after decompression), for
    /// `strata_distributor_bytes_received`; `None` counts the protobuf-encoded size.
    pub wire_bytes: Option<usize>,
    /// The receiver's name: the `protocol` label of the push-duration histogram and the
    /// `receiver` label of `strata_distributor_receiver_spans_total`.
    pub protocol: &'static str,
}

/// What became of an accepted request's spans: all stored, or some refused by the ingesters'
/// per-trace limits (live traces per tenant, trace size). OTLP receivers answer the refused
/// part with `partial_success` (the OTLP rule for a request accepted only in part); the
/// refused spans are also counted in `strata_discarded_spans_total`. Sampled-out spans are
/// not refused: dropping them is the tenant's own policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    pub rejected_spans: u64,
    /// Why, per reason (empty when nothing was refused).
    pub message: String,
}

impl Accepted {
    fn refused(refused: &[(PushErrorReason, u32)]) -> Self {
        let mut by_reason: Vec<(&'static str, u64)> = Vec::new();
        for (reason, n) in refused {
            match by_reason.iter_mut().find(|(l, _)| *l == reason.label()) {
                Some((_, total)) => *total += u64::from(*n),
                None => by_reason.push((reason.label(), u64::from(*n))),
            }
        }
        let rejected_spans = by_reason.iter().map(|(_, n)| n).sum();
        let message = if by_reason.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = by_reason
                .iter()
                .map(|(l, n)| format!("{l}: {n} spans"))
                .collect();
            format!(
                "{rejected_spans} spans refused by per-tenant limits ({})",
                parts.join(", ")
            )
        };
        Self {
            rejected_spans,
            message,
        }
    }
}

/// The admission [`Pipeline::admit_early`] decided for a protobuf body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Early {
    /// Whether an in-process ingester admitted it (see [`Pipeline::run_admitted`]).
    pub admitted: bool,
    /// Its spans, counted from its framing.
    pub spans: usize,
}

/// The stages in their order. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    overrides: Overrides,
    rate_limit: Arc<RateLimit>,
    consumer: Arc<dyn SpanConsumer>,
    sampler: Arc<dyn Sampler>,
    replicate: Replicate,
    metrics: DistributorMetrics,
}

impl Pipeline {
    /// A pipeline with no metrics hand-off, sampling each tenant at its
    /// `sampling.head_ratio` ([`stage::head_sample`]).
    pub fn new(
        pusher: Arc<dyn IngesterPusher>,
        overrides: Overrides,
        clock: SharedClock,
        metrics: DistributorMetrics,
    ) -> Self {
        Self {
            rate_limit: Arc::new(RateLimit::new(clock)),
            consumer: Arc::new(handoff::NoMetrics),
            sampler: stage::head_sample::HeadSampler::new(overrides.clone()),
            overrides,
            replicate: Replicate::new(pusher),
            metrics,
        }
    }

    /// Hands every accepted span to `consumer` (the metrics-generator).
    pub fn with_span_consumer(mut self, consumer: Arc<dyn SpanConsumer>) -> Self {
        self.consumer = consumer;
        self
    }

    /// Samples with `sampler`.
    pub fn with_sampler(mut self, sampler: Arc<dyn Sampler>) -> Self {
        self.sampler = sampler;
        self
    }

    /// The metrics the pipeline counts in (receivers count their own drops there too).
    pub fn metrics(&self) -> &DistributorMetrics {
        &self.metrics
    }

    /// Runs one request through every stage; returns once its kept traces are durable. Its
    /// spans are counted per receiver as accepted or refused.
    pub async fn run(&self, received: Received) -> Result<Accepted, ApiError> {
        self.run_decided(received, None).await
    }

    /// [`Self::run`] of a request whose admission [`Self::admit_early`] already decided
    /// (`admitted` as it returned): the rate limit and backpressure are not applied again.
    pub async fn run_admitted(
        &self,
        received: Received,
        admitted: bool,
    ) -> Result<Accepted, ApiError> {
        self.run_decided(received, Some(admitted)).await
    }

    async fn run_decided(
        &self,
        received: Received,
        early: Option<bool>,
    ) -> Result<Accepted, ApiError> {
        let (receiver, spans) = (
            received.protocol,
            stage::validate::span_count(&received.request),
        );
        let result = self.run_stages(received, early).await;
        if spans > 0 {
            let outcome = if result.is_ok() {
                "accepted"
            } else {
                "refused"
            };
            self.metrics.receiver_spans(receiver, outcome, spans);
        }
        result
    }

    async fn run_stages(
        &self,
        received: Received,
        early: Option<bool>,
    ) -> Result<Accepted, ApiError> {
        let started = Instant::now();
        let Received {
            tenant,
            request,
            wire_bytes,
            protocol,
        } = received;
        let spans = stage::validate::span_count(&request);
        if spans == 0 {
            return Ok(Accepted::default());
        }
        let t = tenant.as_str();
        let limits = self.overrides.limits(&tenant);
        let encoded = request.encoded_len();
        let admitted = match early {
            Some(admitted) => admitted,
            None => {
                self.admit(&tenant, &limits.ingestion, encoded, spans)
                    .await?
            }
        };
        let mut valid = match stage::validate::validate(request) {
            Ok(v) => v,
            Err(invalid) => {
                self.metrics.discard(t, invalid.reason(), spans);
                return Err(ApiError::invalid_argument(invalid.to_string()));
            }
        };
        let cut = stage::truncate::apply(&mut valid, limits.ingestion.max_attribute_bytes);
        let labels = TenantLabels {
            tenant: t.to_string(),
        };
        if cut > 0 {
            self.metrics
                .attributes_truncated
                .get_or_create(&labels)
                .inc_by(cut);
        }
        let traces = stage::group::group(valid);
        self.hand_off(&tenant, &traces).await;
        let sampled = self.sampler.sample(&tenant, traces);
        for (reason, n) in &sampled.dropped {
            self.metrics.sampled_out(t, reason, *n as usize);
        }
        let mut accepted = Accepted::default();
        if !sampled.kept.is_empty() {
            let kept: usize = sampled.kept.iter().map(|t| t.span_count as usize).sum();
            match self.replicate.push(&tenant, sampled.kept, admitted).await {
                Ok(refused) => {
                    for (reason, n) in &refused {
                        self.metrics.discard(t, reason.label(), *n as usize);
                    }
                    accepted = Accepted::refused(&refused);
                }
                Err(e) => {
                    self.metrics
                        .discard(t, stage::replicate::failure_reason(&e), kept);
                    return Err(e.into());
                }
            }
        }
        self.count_received(
            &labels,
            spans,
            wire_bytes.unwrap_or(encoded),
            protocol,
            started,
        );
        Ok(accepted)
    }

    /// The stages every request passes before its spans are worked on, on both paths: the
    /// tenant's rate limit on `encoded` bytes, then the backpressure an in-process ingester
    /// decides (holding the request until it admits it, within its `max_admission_wait`). A
    /// refusal discards all `spans`, counted.
    async fn admit(
        &self,
        tenant: &TenantId,
        limits: &strata_config::IngestionLimits,
        encoded: usize,
        spans: usize,
    ) -> Result<bool, ApiError> {
        let t = tenant.as_str();
        if let Err(e) = self.rate_limit.admit(tenant, limits, encoded as u64) {
            self.metrics.discard(t, "rate_limited", spans);
            return Err(e);
        }
        self.replicate
            .admit(tenant, encoded as u64)
            .await
            .map_err(|e| {
                self.metrics
                    .discard(t, stage::replicate::failure_reason(&e), spans);
                e.into()
            })
    }

    /// Admission of an OTLP protobuf body before it is walked or decoded: the tenant's rate
    /// limit on the body's size, then an in-process ingester's backpressure ([`Self::admit`]),
    /// with the spans to count taken from the body's framing alone
    /// ([`stage::wire::count_spans`]), so that a refused body costs only that count — under a
    /// saturating load most bodies are refused. `Ok(Some(early))`: decided; pass
    /// `early.admitted` on to [`Self::run_admitted`] or [`Self::run_scanned`], and
    /// `early.spans` to [`Self::scan_fast`], which then need not count again. `Ok(None)`: not
    /// decided here (no spans, or framing only prost can judge); the later stages decide as on
    /// every other path. A refusal is counted as there: discarded spans by reason, and the
    /// receiver's spans refused.
    /// A body whose framing counts but whose spans prost would not decode is refused here, not
    /// answered as malformed, when a limit refuses it: it would be refused either way.
    pub async fn admit_early(
        &self,
        tenant: &TenantId,
        body: &[u8],
        protocol: &'static str,
    ) -> Result<Option<Early>, ApiError> {
        let spans = match stage::wire::count_spans(body) {
            Some(n) if n > 0 => n,
            _ => return Ok(None),
        };
        let limits = self.overrides.limits(tenant);
        match self
            .admit(tenant, &limits.ingestion, body.len(), spans)
            .await
        {
            Ok(admitted) => Ok(Some(Early { admitted, spans })),
            Err(e) => {
                self.metrics.receiver_spans(protocol, "refused", spans);
                Err(e)
            }
        }
    }

    /// Counts a request that got through: spans, bytes as received, push latency.
    fn count_received(
        &self,
        labels: &TenantLabels,
        spans: usize,
        bytes: usize,
        protocol: &'static str,
        started: Instant,
    ) {
        self.metrics
            .spans_received
            .get_or_create(labels)
            .inc_by(spans as u64);
        self.metrics
            .bytes_received
            .get_or_create(labels)
            .inc_by(bytes as u64);
        self.metrics.observe_push(protocol, started.elapsed());
    }

    async fn hand_off(&self, tenant: &TenantId, traces: &[TraceSpans]) {
        if let Err(e) = self.consumer.consume(tenant, traces).await {
            tracing::warn!(%tenant, error = %e, "span hand-off to trace-derived metrics failed");
            self.metrics
                .span_handoff_failures
                .get_or_create(&TenantLabels {
                    tenant: tenant.to_string(),
                })
                .inc();
        }
    }
}

mod fast;
#[cfg(test)]
mod tests;
