//! The conversion functions between role types, wire messages and statuses.

use std::error::Error;

use bytes::Bytes;
use strata_common::{TenantId, TraceId};
use strata_proto::ingester_rpc as wire;
use strata_proto::roles::{
    PushErrorReason, PushRequest, PushResponse, RoleError, TraceFragments, TracePush,
};
use strata_rpc::convert::*;
use tonic::{Code, Status};

#[test]
fn push_request_round_trips() {
    let req = PushRequest {
        tenant: TenantId::new("acme").unwrap(),
        traces: vec![TracePush {
            trace_id: TraceId([9; 16]),
            span_count: 3,
            start_unix_nano: u64::MAX - 1,
            end_unix_nano: u64::MAX,
            payload: Bytes::from_static(b"payload"),
            replica: false,
        }],
    };
    let w = push_request_to_wire(req.clone());
    assert_eq!(w.tenant, "acme");
    assert_eq!(w.traces[0].trace_id.as_ref(), &[9; 16]);
    assert_eq!(push_request_from_wire(w).unwrap(), req);
}

#[test]
fn push_response_round_trips_in_tempo_numbering() {
    let resp = PushResponse {
        errors_by_trace: vec![
            PushErrorReason::NoError,
            PushErrorReason::MaxLiveTraces,
            PushErrorReason::TraceTooLarge,
            PushErrorReason::UnknownError,
        ],
    };
    let w = push_response_to_wire(&resp);
    assert_eq!(w.errors_by_trace, vec![0, 1, 2, 3]);
    assert_eq!(push_response_from_wire(w), resp);
    assert_eq!(
        push_response_from_wire(wire::PushResponse {
            errors_by_trace: vec![7, -1]
        })
        .errors_by_trace,
        vec![PushErrorReason::UnknownError; 2]
    );
}

#[test]
fn fragments_round_trip() {
    let f = TraceFragments {
        payloads: vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")],
        inspected_bytes: 42,
    };
    assert_eq!(fragments_from_wire(fragments_to_wire(f.clone())), f);
}

#[test]
fn bad_ids_and_tenants_are_invalid_argument() {
    assert_eq!(
        tenant_from_wire("").unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        tenant_from_wire("a/b").unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(tenant_from_wire("ok").unwrap().as_str(), "ok");
    assert_eq!(
        trace_id_from_wire(&[]).unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(trace_id_from_wire(&[1; 16]).unwrap(), TraceId([1; 16]));
}

#[test]
fn statuses_map_to_role_errors() {
    let a = "10.0.0.1:9095";
    let cases = [
        (
            Code::InvalidArgument,
            RoleError::InvalidArgument("m".into()),
        ),
        (
            Code::ResourceExhausted,
            RoleError::ResourceExhausted("m".into()),
        ),
        (
            Code::Unavailable,
            RoleError::Unavailable(format!("ingester {a}: m")),
        ),
        (
            Code::DeadlineExceeded,
            RoleError::Unavailable(format!("ingester {a}: m")),
        ),
        (
            Code::Cancelled,
            RoleError::Unavailable(format!("ingester {a}: m")),
        ),
        (
            Code::Unknown,
            RoleError::Internal(format!("ingester {a}: m")),
        ),
        (
            Code::OutOfRange,
            RoleError::Internal(format!("ingester {a}: m")),
        ),
        (
            Code::Internal,
            RoleError::Internal(format!("ingester {a}: m")),
        ),
    ];
    for (code, want) in cases {
        assert_eq!(
            status_to_role_error(a, &Status::new(code, "m")),
            want,
            "{code:?}"
        );
    }
    // Unknown made from a local transport error (it has a source) means the ingester is
    // unreachable.
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
    let transport = Status::from_error(Box::new(io));
    assert!(transport.source().is_some());
    let err = status_to_role_error(a, &transport);
    assert!(
        matches!(&err, RoleError::Unavailable(m) if m.contains(a)),
        "{err:?}"
    );
}

#[test]
fn role_errors_survive_the_round_trip() {
    for e in [
        RoleError::InvalidArgument("x".into()),
        RoleError::ResourceExhausted("y".into()),
    ] {
        assert_eq!(status_to_role_error("h:1", &e.to_status()), e);
    }
}
