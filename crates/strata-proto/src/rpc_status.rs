//! `google.rpc.Status`, the error body of OTLP/HTTP responses, and the mapping from gRPC codes
//! to HTTP status codes that the OpenTelemetry Collector's receivers use.

/// `google.rpc.Status` (details are never filled in by Strata).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// gRPC code → HTTP status for OTLP/HTTP error responses.
pub fn http_status_for(code: tonic::Code) -> u16 {
    use tonic::Code::*;
    match code {
        Ok => 200,
        ResourceExhausted => 429,
        InvalidArgument => 400,
        Unauthenticated => 401,
        PermissionDenied => 403,
        Unimplemented => 404,
        Cancelled | DeadlineExceeded | Aborted | OutOfRange | Unavailable | DataLoss => 503,
        _ => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_like_the_collector() {
        assert_eq!(http_status_for(tonic::Code::InvalidArgument), 400);
        assert_eq!(http_status_for(tonic::Code::ResourceExhausted), 429);
        assert_eq!(http_status_for(tonic::Code::Unavailable), 503);
        assert_eq!(http_status_for(tonic::Code::Internal), 500);
    }
}
