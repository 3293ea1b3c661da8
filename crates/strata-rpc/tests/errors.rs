//! Errors and push outcomes across the wire, with a scripted ingester behind a real gRPC
//! server: per-trace refusals, role errors, malformed requests, and graceful shutdown with a
//! call in flight.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{options, push, trace_push, Server};
use strata_common::{TenantId, TraceId};
use strata_proto::ingester_rpc as wire;
use strata_proto::ingester_rpc::ingester_client::IngesterClient as RawClient;
use strata_proto::roles::{
    IngesterHealth, IngesterPusher, IngesterQuerier, PushErrorReason, PushRequest, PushResponse,
    RoleError, TraceFragments,
};
use strata_proto::tempopb;
use strata_rpc::IngesterClient;
use tokio::sync::{Mutex, Semaphore};

/// An ingester whose answers the test sets.
struct Scripted {
    push: Mutex<Result<PushResponse, RoleError>>,
    ready: Mutex<Result<(), RoleError>>,
    /// Pushes seen, after conversion from the wire.
    pushes: Mutex<Vec<PushRequest>>,
    /// When set, a push signals `entered` then waits for a permit of `release`.
    hold: Option<(Arc<Semaphore>, Arc<Semaphore>)>,
}

impl Scripted {
    fn new() -> Self {
        Self {
            push: Mutex::new(Ok(PushResponse::default())),
            ready: Mutex::new(Ok(())),
            pushes: Mutex::new(Vec::new()),
            hold: None,
        }
    }
}

#[async_trait]
impl IngesterPusher for Scripted {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        self.pushes.lock().await.push(req);
        if let Some((entered, release)) = &self.hold {
            entered.add_permits(1);
            release.acquire().await.unwrap().forget();
        }
        self.push.lock().await.clone()
    }
}

#[async_trait]
impl IngesterHealth for Scripted {
    async fn ready(&self) -> Result<(), RoleError> {
        self.ready.lock().await.clone()
    }
}

#[async_trait]
impl IngesterQuerier for Scripted {
    async fn find_trace_by_id(
        &self,
        _: &TenantId,
        _: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        Err(RoleError::Internal("disk on fire".into()))
    }
    async fn search(
        &self,
        _: &TenantId,
        _: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        Err(RoleError::InvalidArgument("bad query".into()))
    }
    async fn search_tags(
        &self,
        _: &TenantId,
        _: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        Err(RoleError::Unavailable("shutting down".into()))
    }
    async fn search_tag_values(
        &self,
        _: &TenantId,
        _: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        Ok(Default::default())
    }
}

#[tokio::test]
async fn per_trace_refusals_and_role_errors_round_trip() {
    let scripted = Arc::new(Scripted::new());
    let server = Server::start(scripted.clone(), 1 << 20).await;
    let client = IngesterClient::new(&server.hostport(), &options()).unwrap();
    let tenant = TenantId::new("team-a").unwrap();

    let reasons = vec![
        PushErrorReason::NoError,
        PushErrorReason::MaxLiveTraces,
        PushErrorReason::TraceTooLarge,
        PushErrorReason::UnknownError,
    ];
    *scripted.push.lock().await = Ok(PushResponse {
        errors_by_trace: reasons.clone(),
    });
    let sent = PushRequest {
        tenant: tenant.clone(),
        traces: (1..=4).map(|i| trace_push(i, "svc", i, 10)).collect(),
    };
    let resp = client.push(sent.clone()).await.unwrap();
    assert_eq!(resp.errors_by_trace, reasons);
    assert_eq!(resp.reason(2), PushErrorReason::TraceTooLarge);
    // The request arrived field for field.
    assert_eq!(scripted.pushes.lock().await.as_slice(), &[sent]);

    *scripted.push.lock().await = Err(RoleError::ResourceExhausted("slow down".into()));
    let err = client.push(push(vec![])).await.unwrap_err();
    assert_eq!(err, RoleError::ResourceExhausted("slow down".into()));

    let err = client
        .search(&tenant, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err, RoleError::InvalidArgument("bad query".into()));
    let err = client
        .search_tags(&tenant, &Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RoleError::Unavailable(m) if m.contains("shutting down")),
        "{err:?}"
    );
    let err = client
        .find_trace_by_id(&tenant, &TraceId([1; 16]))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RoleError::Internal(format!("ingester {}: disk on fire", server.hostport()))
    );

    *scripted.ready.lock().await = Err(RoleError::Unavailable("replaying WAL".into()));
    let err = client.ready().await.unwrap_err();
    assert!(matches!(err, RoleError::Unavailable(_)), "{err:?}");
    *scripted.ready.lock().await = Ok(());
    client.ready().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_argument_and_the_server_survives() {
    let scripted = Arc::new(Scripted::new());
    let server = Server::start(scripted.clone(), 1 << 20).await;
    let mut raw = RawClient::connect_with(&server).await;

    let bad_tenant = raw
        .push(wire::PushRequest {
            tenant: "../etc".into(),
            traces: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_tenant.code(),
        tonic::Code::InvalidArgument,
        "{bad_tenant:?}"
    );
    let empty_tenant = raw
        .search(wire::SearchRequest::default())
        .await
        .unwrap_err();
    assert_eq!(empty_tenant.code(), tonic::Code::InvalidArgument);
    let short_id = raw
        .push(wire::PushRequest {
            tenant: "t".into(),
            traces: vec![wire::TracePush {
                trace_id: vec![1, 2, 3].into(),
                ..Default::default()
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(
        short_id.code(),
        tonic::Code::InvalidArgument,
        "{short_id:?}"
    );
    let long_id = raw
        .find_trace_by_id(wire::FindTraceByIdRequest {
            tenant: "t".into(),
            trace_id: vec![0; 17].into(),
        })
        .await
        .unwrap_err();
    assert_eq!(long_id.code(), tonic::Code::InvalidArgument);
    // An unknown enum value from a newer peer reads as UnknownError.
    assert_eq!(
        strata_rpc::convert::reason_from_wire(99),
        PushErrorReason::UnknownError
    );
    // Nothing reached the ingester, and the server still answers.
    assert!(scripted.pushes.lock().await.is_empty());
    raw.ready(wire::ReadyRequest {}).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_call_in_flight_finish() {
    let entered = Arc::new(Semaphore::new(0));
    let release = Arc::new(Semaphore::new(0));
    let scripted = Arc::new(Scripted {
        hold: Some((entered.clone(), release.clone())),
        ..Scripted::new()
    });
    let server = Server::start(scripted.clone(), 1 << 20).await;
    let client = IngesterClient::new(&server.hostport(), &options()).unwrap();
    let call = {
        let client = client.clone();
        tokio::spawn(async move { client.push(push(vec![trace_push(1, "svc", 1, 0)])).await })
    };
    tokio::time::timeout(Duration::from_secs(30), entered.acquire())
        .await
        .expect("push never reached the ingester")
        .unwrap()
        .forget();
    server.shutdown.cancel();
    // The server must not finish while the push is held.
    assert!(!server.task.is_finished());
    release.add_permits(1);
    let resp = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("push did not finish")
        .unwrap();
    assert_eq!(resp, Ok(PushResponse::default()));
    tokio::time::timeout(Duration::from_secs(30), server.task)
        .await
        .expect("server did not stop")
        .unwrap()
        .unwrap();
    let err = client.ready().await.unwrap_err();
    assert!(matches!(err, RoleError::Unavailable(_)), "{err:?}");
}

trait ConnectWith: Sized {
    async fn connect_with(server: &Server) -> Self;
}

impl ConnectWith for RawClient<tonic::transport::Channel> {
    async fn connect_with(server: &Server) -> Self {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        RawClient::new(channel)
    }
}
