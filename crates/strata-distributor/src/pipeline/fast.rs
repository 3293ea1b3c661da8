//! The pipeline's fast path for OTLP protobuf bodies: when nothing needs the decoded spans, the
//! request is walked in wire format ([`stage::wire`]) and cut into per-trace shares by copying
//! byte ranges ([`stage::split`]) instead of being decoded into prost structs, grouped and
//! encoded again. Measured in docs/BENCHMARKS.md ("Accept path without decoding"): freeing the
//! decoded request's many small allocations was about half of the accept path's CPU.
//!
//! It applies when, for the request's tenant, the [`SpanConsumer`](super::SpanConsumer) wants
//! no spans, the [`Sampler`](super::Sampler) keeps every trace unchanged, and [`stage::wire::scan`]
//! vouches that prost would decode the body and that validation and truncation would change
//! nothing. Otherwise the body is decoded with prost and runs through [`Pipeline::run`]: same
//! answers, same counters. The stages that do run (rate limit on the body's size, early
//! backpressure, replicate) and every counter are those of [`Pipeline::run`].

use std::time::Instant;

use bytes::Bytes;
use strata_common::TenantId;
use strata_proto::status::ApiError;

use super::{Accepted, Pipeline};
use crate::metrics::TenantLabels;
use crate::stage::{self, wire::Scanned};

impl Pipeline {
    /// The scan of `body` when the fast path applies to it for `tenant` (see the module docs).
    /// `spans`: its span count when [`Self::admit_early`] took it (else the scan counts).
    pub fn scan_fast(
        &self,
        tenant: &TenantId,
        body: &[u8],
        spans: Option<usize>,
    ) -> Option<Scanned> {
        if self.consumer.wants_spans(tenant) || !self.sampler.keeps_all(tenant) {
            return None;
        }
        let max = self.overrides.limits(tenant).ingestion.max_attribute_bytes;
        match spans {
            Some(n) => stage::wire::scan_counted(body, max, n),
            None => stage::wire::scan(body, max),
        }
    }

    /// Runs a request [`Self::scan_fast`] accepted; returns once its traces are durable.
    /// `early`: the admission [`Self::admit_early`] decided for it, if it did.
    pub async fn run_scanned(
        &self,
        tenant: TenantId,
        body: Bytes,
        scanned: Scanned,
        wire_bytes: Option<usize>,
        protocol: &'static str,
        early: Option<bool>,
    ) -> Result<Accepted, ApiError> {
        let spans = scanned.spans.len();
        let result = self
            .run_scanned_stages(tenant, body, scanned, wire_bytes, protocol, early)
            .await;
        if spans > 0 {
            let outcome = if result.is_ok() {
                "accepted"
            } else {
                "refused"
            };
            self.metrics.receiver_spans(protocol, outcome, spans);
        }
        result
    }

    async fn run_scanned_stages(
        &self,
        tenant: TenantId,
        body: Bytes,
        scanned: Scanned,
        wire_bytes: Option<usize>,
        protocol: &'static str,
        early: Option<bool>,
    ) -> Result<Accepted, ApiError> {
        let started = Instant::now();
        let spans = scanned.spans.len();
        if spans == 0 {
            return Ok(Accepted::default());
        }
        let t = tenant.as_str();
        let limits = self.overrides.limits(&tenant);
        let encoded = body.len();
        let admitted = match early {
            Some(admitted) => admitted,
            None => {
                self.admit(&tenant, &limits.ingestion, encoded, spans)
                    .await?
            }
        };
        // Validation and truncation were vouched for by the scan; the consumer takes nothing
        // and the sampler keeps everything.
        let traces = stage::split::split(&body, &scanned);
        drop(scanned);
        drop(body);
        let refused = match self.replicate.push_encoded(&tenant, traces, admitted).await {
            Ok(refused) => refused,
            Err(e) => {
                self.metrics
                    .discard(t, stage::replicate::failure_reason(&e), spans);
                return Err(e.into());
            }
        };
        for (reason, n) in &refused {
            self.metrics.discard(t, reason.label(), *n as usize);
        }
        let labels = TenantLabels {
            tenant: t.to_string(),
        };
        self.count_received(
            &labels,
            spans,
            wire_bytes.unwrap_or(encoded),
            protocol,
            started,
        );
        Ok(Accepted::refused(&refused))
    }
}
