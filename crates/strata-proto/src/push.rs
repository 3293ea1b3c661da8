//! The one encoding of a push: the generated `strata.ingester.v1.PushRequest` message
//! ([`wire::PushRequest`]). The internal gRPC sends it and the ingester's WAL stores it (record
//! format v2), so a push is encoded the same way on the network and on disk; the Rust
//! [`PushRequest`] is that message with its tenant and trace IDs checked into newtypes.
//!
//! Converting to the message moves nothing but reference counts (payloads are [`bytes::Bytes`]);
//! converting back checks the tenant and every trace ID and never panics.

use strata_common::{IdError, TenantError, TenantId, TraceId};

use crate::ingester_rpc as wire;
use crate::roles::{PushRequest, TracePush};

/// A push message whose tenant or trace IDs are not valid.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PushMessageError {
    #[error("tenant {tenant:?}: {source}")]
    Tenant { tenant: String, source: TenantError },
    #[error("trace id: {0}")]
    TraceId(IdError),
}

impl PushRequest {
    /// The generated message (see the module docs).
    pub fn to_message(&self) -> wire::PushRequest {
        wire::PushRequest {
            tenant: self.tenant.as_str().to_string(),
            traces: self
                .traces
                .iter()
                .map(|t| wire::TracePush {
                    trace_id: bytes::Bytes::copy_from_slice(t.trace_id.as_bytes()),
                    span_count: t.span_count,
                    start_unix_nano: t.start_unix_nano,
                    end_unix_nano: t.end_unix_nano,
                    payload: t.payload.clone(),
                    replica: t.replica,
                })
                .collect(),
        }
    }

    /// The push a generated message carries, its tenant and trace IDs checked.
    pub fn from_message(msg: wire::PushRequest) -> Result<Self, PushMessageError> {
        let tenant = TenantId::new(&msg.tenant).map_err(|source| PushMessageError::Tenant {
            tenant: msg.tenant.clone(),
            source,
        })?;
        let traces = msg
            .traces
            .into_iter()
            .map(|t| {
                Ok(TracePush {
                    trace_id: TraceId::from_slice(&t.trace_id)
                        .map_err(PushMessageError::TraceId)?,
                    span_count: t.span_count,
                    start_unix_nano: t.start_unix_nano,
                    end_unix_nano: t.end_unix_nano,
                    payload: t.payload,
                    replica: t.replica,
                })
            })
            .collect::<Result<_, PushMessageError>>()?;
        Ok(PushRequest { tenant, traces })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn round_trips_and_checks() {
        let req = PushRequest {
            tenant: TenantId::new("acme").unwrap(),
            traces: vec![TracePush {
                trace_id: TraceId([9; 16]),
                span_count: 3,
                start_unix_nano: 1,
                end_unix_nano: 2,
                payload: Bytes::from_static(b"payload"),
                replica: false,
            }],
        };
        let msg = req.to_message();
        assert_eq!(msg.tenant, "acme");
        assert_eq!(PushRequest::from_message(msg.clone()).unwrap(), req);

        let mut bad = msg.clone();
        bad.traces[0].trace_id = vec![1; 8].into();
        assert!(matches!(
            PushRequest::from_message(bad),
            Err(PushMessageError::TraceId(_))
        ));
        let mut bad = msg;
        bad.tenant = "a/b".into();
        let e = PushRequest::from_message(bad).unwrap_err();
        assert!(e.to_string().starts_with("tenant \"a/b\": "), "{e}");
    }
}
