//! One table from what went wrong to how each transport says it.
//!
//! Every receiver (OTLP/gRPC, OTLP/HTTP and those to come), the query API and the internal gRPC
//! between roles decide their status codes here and nowhere else:
//!
//! | [`ErrorKind`]        | gRPC code            | HTTP | retry after (default)  |
//! |----------------------|----------------------|------|------------------------|
//! | `InvalidArgument`    | `INVALID_ARGUMENT`   | 400  | —                      |
//! | `Unauthenticated`    | `UNAUTHENTICATED`    | 401  | —                      |
//! | `PermissionDenied`   | `PERMISSION_DENIED`  | 403  | —                      |
//! | `ResourceExhausted`  | `RESOURCE_EXHAUSTED` | 429  | 5 s (backpressure)     |
//! | `Unavailable`        | `UNAVAILABLE`        | 503  | 1 s (retry elsewhere or soon) |
//! | `Internal`           | `INTERNAL`           | 500  | —                      |
//!
//! A refusal that a retry can cure carries a delay ([`ApiError::retry_after`]): HTTP sends it as
//! `Retry-After` (whole seconds, rounded up, at least 1), gRPC as `google.rpc.RetryInfo` in the
//! status details — the OTLP specification lets exporters retry `RESOURCE_EXHAUSTED` only when
//! it is present. A rate-limit refusal computes its own delay; other `ResourceExhausted`
//! refusals (an ingester pushing back) use [`BACKPRESSURE_RETRY_AFTER`].
//!
//! Codes received from a peer map back with [`ErrorKind::from_grpc_code`]; codes that only a
//! foreign peer sends map to HTTP like the OpenTelemetry Collector's receivers do
//! ([`http_status_for`](crate::rpc_status::http_status_for)).

use std::time::Duration;

/// The retry delay suggested when an ingester pushes back (`RESOURCE_EXHAUSTED` without a
/// rate-limit computation): HTTP `Retry-After: 5`, gRPC `RetryInfo` of 5 s.
pub const BACKPRESSURE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The retry delay suggested with `UNAVAILABLE` / HTTP 503 (an ingester stopping, no quorum):
/// soon, since the ring hands the traces to other members once it notices.
pub const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(1);

/// What went wrong, independent of the transport that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request itself is wrong; retrying it unchanged cannot help.
    InvalidArgument,
    /// The request names no tenant where one is required.
    Unauthenticated,
    /// The credentials do not allow this tenant or operation.
    PermissionDenied,
    /// A limit or backpressure refused the request; retrying later can succeed.
    ResourceExhausted,
    /// A dependency (an ingester, the ring, the tenant header of an ingest) is missing or
    /// down; retrying, possibly elsewhere, can succeed.
    Unavailable,
    Internal,
}

impl ErrorKind {
    /// The gRPC code (table in the module docs).
    pub const fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorKind::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorKind::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorKind::PermissionDenied => tonic::Code::PermissionDenied,
            ErrorKind::ResourceExhausted => tonic::Code::ResourceExhausted,
            ErrorKind::Unavailable => tonic::Code::Unavailable,
            ErrorKind::Internal => tonic::Code::Internal,
        }
    }

    /// The HTTP status (table in the module docs).
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidArgument => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::ResourceExhausted => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// The delay suggested when the refusal computes none.
    pub const fn default_retry_after(self) -> Option<Duration> {
        match self {
            ErrorKind::ResourceExhausted => Some(BACKPRESSURE_RETRY_AFTER),
            ErrorKind::Unavailable => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }

    /// The kind a peer's gRPC code means. `UNAVAILABLE`, `DEADLINE_EXCEEDED` and `CANCELLED`
    /// (the peer is down, stopping or too slow) are `Unavailable`; codes outside the table
    /// `Internal`.
    pub const fn from_grpc_code(code: tonic::Code) -> ErrorKind {
        use tonic::Code::*;
        match code {
            InvalidArgument => ErrorKind::InvalidArgument,
            Unauthenticated => ErrorKind::Unauthenticated,
            PermissionDenied => ErrorKind::PermissionDenied,
            ResourceExhausted => ErrorKind::ResourceExhausted,
            Unavailable | DeadlineExceeded | Cancelled => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}

/// An error as a transport renders it: kind, message and (for retryable refusals) a delay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    retry_after: Option<Duration>,
}

impl ApiError {
    /// An error of `kind` with that kind's default retry delay.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: kind.default_retry_after(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// A `ResourceExhausted` refusal that a retry after `delay` can cure (at least 1 s is
    /// suggested).
    pub fn retry_after(message: impl Into<String>, delay: Duration) -> Self {
        Self {
            kind: ErrorKind::ResourceExhausted,
            message: message.into(),
            retry_after: Some(delay.max(Duration::from_secs(1))),
        }
    }

    /// How long a client should wait before retrying, when retrying can help.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.retry_after
    }

    pub fn grpc_code(&self) -> tonic::Code {
        self.kind.grpc_code()
    }

    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// The `Retry-After` header value: whole seconds rounded up, at least 1.
    pub fn retry_after_header(&self) -> Option<u64> {
        self.retry_after
            .map(|d| (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1))
    }

    /// The gRPC status; a retryable refusal carries `google.rpc.RetryInfo`.
    pub fn to_grpc_status(&self) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt};
        match self.retry_after {
            Some(delay) => tonic::Status::with_error_details(
                self.grpc_code(),
                self.message.clone(),
                ErrorDetails::with_retry_info(Some(delay)),
            ),
            None => tonic::Status::new(self.grpc_code(), self.message.clone()),
        }
    }
}

impl From<crate::roles::RoleError> for ApiError {
    fn from(e: crate::roles::RoleError) -> Self {
        let kind = e.kind();
        Self::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [ErrorKind; 6] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Unauthenticated,
        ErrorKind::PermissionDenied,
        ErrorKind::ResourceExhausted,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    #[test]
    fn every_kind_survives_a_grpc_round_trip() {
        for k in KINDS {
            assert_eq!(ErrorKind::from_grpc_code(k.grpc_code()), k, "{k:?}");
        }
    }

    #[test]
    fn http_agrees_with_the_collector_mapping_of_the_grpc_code() {
        for k in KINDS {
            assert_eq!(
                k.http_status(),
                crate::rpc_status::http_status_for(k.grpc_code()),
                "{k:?}"
            );
        }
    }

    #[test]
    fn retry_hints() {
        let e = ApiError::retry_after("slow down", Duration::from_millis(1500));
        assert_eq!(e.retry_after_header(), Some(2));
        assert_eq!(e.http_status(), 429);
        let tiny = ApiError::retry_after("x", Duration::from_millis(1));
        assert_eq!(tiny.retry_delay(), Some(Duration::from_secs(1)));
        let pushback = ApiError::new(ErrorKind::ResourceExhausted, "busy");
        assert_eq!(pushback.retry_delay(), Some(BACKPRESSURE_RETRY_AFTER));
        assert_eq!(ApiError::unavailable("down").retry_after_header(), Some(1));
        assert_eq!(ApiError::internal("bug").retry_after_header(), None);
        let st = e.to_grpc_status();
        assert_eq!(st.code(), tonic::Code::ResourceExhausted);
        use tonic_types::StatusExt;
        let info = st.get_details_retry_info().expect("retry info");
        assert_eq!(info.retry_delay, Some(Duration::from_millis(1500)));
        assert!(ApiError::invalid_argument("bad")
            .to_grpc_status()
            .get_details_retry_info()
            .is_none());
    }
}
