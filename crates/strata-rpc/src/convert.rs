//! Conversions between the role types of [`strata_proto::roles`] and the generated wire
//! messages of [`strata_proto::ingester_rpc`], and between gRPC statuses and [`RoleError`].
//!
//! Decoding a request never panics: a bad tenant or trace ID becomes INVALID_ARGUMENT. A push
//! error reason the receiver does not know (a newer peer) decodes as
//! [`PushErrorReason::UnknownError`].

use std::error::Error as _;

use strata_common::{TenantId, TraceId};
use strata_proto::ingester_rpc as wire;
use strata_proto::roles::{PushErrorReason, PushRequest, PushResponse, RoleError, TraceFragments};
use strata_proto::status::ErrorKind;
use tonic::{Code, Status};

/// A request's tenant, validated.
pub fn tenant_from_wire(s: &str) -> Result<TenantId, Status> {
    TenantId::new(s).map_err(|e| Status::invalid_argument(format!("tenant {s:?}: {e}")))
}

/// A request's trace ID: exactly 16 bytes.
pub fn trace_id_from_wire(b: &[u8]) -> Result<TraceId, Status> {
    TraceId::from_slice(b).map_err(|e| Status::invalid_argument(format!("trace id: {e}")))
}

pub fn reason_to_wire(r: PushErrorReason) -> wire::PushErrorReason {
    match r {
        PushErrorReason::NoError => wire::PushErrorReason::NoError,
        PushErrorReason::MaxLiveTraces => wire::PushErrorReason::MaxLiveTraces,
        PushErrorReason::TraceTooLarge => wire::PushErrorReason::TraceTooLarge,
        PushErrorReason::UnknownError => wire::PushErrorReason::UnknownError,
    }
}

pub fn reason_from_wire(v: i32) -> PushErrorReason {
    match wire::PushErrorReason::try_from(v) {
        Ok(wire::PushErrorReason::NoError) => PushErrorReason::NoError,
        Ok(wire::PushErrorReason::MaxLiveTraces) => PushErrorReason::MaxLiveTraces,
        Ok(wire::PushErrorReason::TraceTooLarge) => PushErrorReason::TraceTooLarge,
        Ok(wire::PushErrorReason::UnknownError) | Err(_) => PushErrorReason::UnknownError,
    }
}

/// The push as its generated message ([`strata_proto::push`]).
pub fn push_request_to_wire(req: PushRequest) -> wire::PushRequest {
    req.to_message()
}

/// The push a received message carries; a bad tenant or trace ID is `INVALID_ARGUMENT`.
pub fn push_request_from_wire(req: wire::PushRequest) -> Result<PushRequest, Status> {
    PushRequest::from_message(req).map_err(|e| Status::invalid_argument(e.to_string()))
}

pub fn push_response_to_wire(resp: &PushResponse) -> wire::PushResponse {
    wire::PushResponse {
        errors_by_trace: resp
            .errors_by_trace
            .iter()
            .map(|r| reason_to_wire(*r) as i32)
            .collect(),
    }
}

pub fn push_response_from_wire(resp: wire::PushResponse) -> PushResponse {
    PushResponse {
        errors_by_trace: resp
            .errors_by_trace
            .into_iter()
            .map(reason_from_wire)
            .collect(),
    }
}

pub fn fragments_to_wire(f: TraceFragments) -> wire::FindTraceByIdResponse {
    wire::FindTraceByIdResponse {
        payloads: f.payloads,
        inspected_bytes: f.inspected_bytes,
    }
}

pub fn fragments_from_wire(f: wire::FindTraceByIdResponse) -> TraceFragments {
    TraceFragments {
        payloads: f.payloads,
        inspected_bytes: f.inspected_bytes,
    }
}

/// The role error a failed call to the ingester at `addr` means (see the crate docs); codes
/// map through [`strata_proto::status`].
pub fn status_to_role_error(addr: &str, status: &Status) -> RoleError {
    let msg = status.message();
    let kind = match status.code() {
        // A status made on this side from a transport error carries that error as its source;
        // one sent by the server does not.
        Code::Unknown if status.source().is_some() => ErrorKind::Unavailable,
        code => ErrorKind::from_grpc_code(code),
    };
    match kind {
        ErrorKind::InvalidArgument => RoleError::InvalidArgument(msg.to_string()),
        ErrorKind::ResourceExhausted => RoleError::ResourceExhausted(msg.to_string()),
        ErrorKind::Unavailable => {
            RoleError::Unavailable(format!("ingester {addr}: {}", describe(status)))
        }
        _ => RoleError::Internal(format!("ingester {addr}: {}", describe(status))),
    }
}

/// The status message, followed by its source chain when it has one (transport errors).
fn describe(status: &Status) -> String {
    let mut out = status.message().to_string();
    let mut src = status.source();
    while let Some(e) = src {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        src = e.source();
    }
    out
}
