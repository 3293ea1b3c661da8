//! The generator as a [`GeneratorConn`]: what its gRPC service calls for each push from a
//! distributor. Payloads are decoded back into [`TraceSpans`] and processed like the
//! in-process hand-off; a payload that does not decode fails the whole push with
//! `INVALID_ARGUMENT` before anything is counted. While stopping, pushes are refused with
//! `UNAVAILABLE` so distributors move the traces' owners elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use prost::Message;
use strata_proto::roles::{GeneratorConn, PushRequest, RoleError, TraceSpans};
use strata_proto::tempopb;

use crate::MetricsGenerator;

/// A [`MetricsGenerator`] taking pushes until [`RemoteGenerator::stop_accepting`].
#[derive(Clone)]
pub struct RemoteGenerator {
    generator: MetricsGenerator,
    accepting: Arc<AtomicBool>,
}

impl RemoteGenerator {
    pub fn new(generator: MetricsGenerator) -> Self {
        Self {
            generator,
            accepting: Arc::new(AtomicBool::new(true)),
        }
    }

    /// From now on pushes and readiness checks answer `UNAVAILABLE`.
    pub fn stop_accepting(&self) {
        self.accepting.store(false, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), RoleError> {
        if self.accepting.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(RoleError::Unavailable(
                "metrics-generator is shutting down".into(),
            ))
        }
    }
}

/// The pushed shares as the processors take them.
pub fn decode_push(req: &PushRequest) -> Result<Vec<TraceSpans>, RoleError> {
    req.traces
        .iter()
        .map(|t| {
            let trace = tempopb::Trace::decode(t.payload.clone()).map_err(|e| {
                RoleError::InvalidArgument(format!("trace {}: payload: {e}", t.trace_id))
            })?;
            Ok(TraceSpans {
                trace_id: t.trace_id,
                span_count: t.span_count,
                start_unix_nano: t.start_unix_nano,
                end_unix_nano: t.end_unix_nano,
                trace,
            })
        })
        .collect()
}

#[async_trait]
impl GeneratorConn for RemoteGenerator {
    async fn push_spans(&self, req: PushRequest) -> Result<(), RoleError> {
        self.check()?;
        let traces = decode_push(&req)?;
        self.generator.process(&req.tenant, &traces);
        Ok(())
    }

    async fn ready(&self) -> Result<(), RoleError> {
        self.check()
    }
}
