//! A real ingester behind a real gRPC server on loopback, called through `IngesterClient`:
//! every call answers what the in-process ingester answers.

mod common;

use common::{options, push, trace_push, IngesterFixture, Server};
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_proto::roles::{IngesterHealth, IngesterPusher, IngesterQuerier, RoleError};
use strata_proto::tempopb;
use strata_rpc::IngesterClient;

#[tokio::test]
async fn push_then_find_trace_by_id() {
    let fx = IngesterFixture::new();
    let server = Server::start(fx.conn(), 16 << 20).await;
    let client = IngesterClient::new(&server.hostport(), &options()).unwrap();
    assert_eq!(client.addr(), server.hostport());

    let share = trace_push(7, "svc-a", 3, 0);
    let resp = client.push(push(vec![share.clone()])).await.unwrap();
    assert!(resp.errors_by_trace.is_empty(), "{resp:?}");

    let found = client
        .find_trace_by_id(&TenantId::single(), &TraceId([7; 16]))
        .await
        .unwrap();
    assert_eq!(found.payloads, vec![share.payload.clone()]);
    assert!(found.inspected_bytes > 0);
    let t = tempopb::Trace::decode(found.payloads[0].as_ref()).unwrap();
    assert_eq!(t.resource_spans[0].scope_spans[0].spans.len(), 3);

    // Same answer as in process; an unknown trace and another tenant are empty.
    let local = fx
        .ingester
        .find_trace_by_id(&TenantId::single(), &TraceId([7; 16]))
        .await
        .unwrap();
    assert_eq!(found, local);
    let missing = client
        .find_trace_by_id(&TenantId::single(), &TraceId([8; 16]))
        .await
        .unwrap();
    assert!(missing.payloads.is_empty());
    let other = client
        .find_trace_by_id(&TenantId::new("other").unwrap(), &TraceId([7; 16]))
        .await
        .unwrap();
    assert!(other.payloads.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn search_and_tags_match_the_in_process_ingester() {
    let fx = IngesterFixture::new();
    let server = Server::start(fx.conn(), 16 << 20).await;
    let client = IngesterClient::new(&server.hostport(), &options()).unwrap();
    client
        .push(push(vec![
            trace_push(1, "svc-a", 2, 0),
            trace_push(2, "svc-b", 1, 0),
            trace_push(3, "svc-a", 4, 0),
        ]))
        .await
        .unwrap();
    let tenant = TenantId::single();

    for req in [
        tempopb::SearchRequest::default(),
        tempopb::SearchRequest {
            query: r#"{ resource.service.name = "svc-a" }"#.into(),
            limit: 20,
            spans_per_span_set: 3,
            ..Default::default()
        },
        tempopb::SearchRequest {
            limit: 1,
            ..Default::default()
        },
    ] {
        let remote = client.search(&tenant, &req).await.unwrap();
        let local = fx.ingester.search(&tenant, &req).await.unwrap();
        assert_eq!(remote, local, "{req:?}");
        assert!(!remote.traces.is_empty(), "{req:?}");
    }
    let svc_a = client
        .search(
            &tenant,
            &tempopb::SearchRequest {
                query: r#"{ resource.service.name = "svc-a" }"#.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(svc_a.traces.len(), 2);

    let tags_req = tempopb::SearchTagsRequest::default();
    let remote = client.search_tags(&tenant, &tags_req).await.unwrap();
    let local = fx.ingester.search_tags(&tenant, &tags_req).await.unwrap();
    assert_eq!(remote, local);
    let span_scope = remote.scopes.iter().find(|s| s.name == "span").unwrap();
    assert!(span_scope.tags.iter().any(|t| t == "http.method"));

    let values_req = tempopb::SearchTagValuesRequest {
        tag_name: "resource.service.name".into(),
        v2: true,
        ..Default::default()
    };
    let remote = client
        .search_tag_values(&tenant, &values_req)
        .await
        .unwrap();
    let local = fx
        .ingester
        .search_tag_values(&tenant, &values_req)
        .await
        .unwrap();
    assert_eq!(remote, local);
    let vals: Vec<&str> = remote.tag_values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(vals, ["svc-a", "svc-b"]);

    // The ingester's own errors keep their code across the wire.
    let bad = tempopb::SearchRequest {
        query: "{ .a = ".into(),
        ..Default::default()
    };
    let local = fx.ingester.search(&tenant, &bad).await.unwrap_err();
    let remote = client.search(&tenant, &bad).await.unwrap_err();
    assert!(matches!(local, RoleError::InvalidArgument(_)), "{local:?}");
    assert_eq!(remote, local);
    server.stop().await;
}

#[tokio::test]
async fn oversized_messages_fail_the_call_and_the_server_keeps_serving() {
    let fx = IngesterFixture::new();
    let limit = 64 * 1024;
    let server = Server::start(fx.conn(), limit).await;
    let client = IngesterClient::new(&server.hostport(), &options()).unwrap();

    // Bigger than the server accepts.
    let err = client
        .push(push(vec![trace_push(1, "svc", 1, 4 * limit)]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RoleError::Internal(m) if m.contains("too large")),
        "{err:?}"
    );
    assert!(err.to_string().contains(&server.hostport()), "{err}");

    // Bigger than this client sends.
    let small = strata_rpc::ClientOptions {
        max_message_bytes: limit,
        ..options()
    };
    let small_client = IngesterClient::new(&server.hostport(), &small).unwrap();
    let err = small_client
        .push(push(vec![trace_push(2, "svc", 1, 4 * limit)]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RoleError::Internal(m) if m.contains("message limit")),
        "{err:?}"
    );

    // Nothing was stored, and the same connection still works.
    let empty = client
        .find_trace_by_id(&TenantId::single(), &TraceId([1; 16]))
        .await
        .unwrap();
    assert!(empty.payloads.is_empty());
    client
        .push(push(vec![trace_push(3, "svc", 2, 100)]))
        .await
        .unwrap();
    let found = client
        .find_trace_by_id(&TenantId::single(), &TraceId([3; 16]))
        .await
        .unwrap();
    assert_eq!(found.payloads.len(), 1);
    client.ready().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn ready_then_unavailable_once_the_server_stops() {
    let fx = IngesterFixture::new();
    let server = Server::start(fx.conn(), 16 << 20).await;
    let client = IngesterClient::new(&server.hostport(), &options()).unwrap();
    client.ready().await.unwrap();
    let addr = server.hostport();
    server.stop().await;

    let err = client.ready().await.unwrap_err();
    assert!(matches!(err, RoleError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains(&addr), "{err}");
    let err = client
        .push(push(vec![trace_push(1, "svc", 1, 0)]))
        .await
        .unwrap_err();
    assert!(matches!(err, RoleError::Unavailable(_)), "{err:?}");
    let err = client
        .find_trace_by_id(&TenantId::single(), &TraceId([1; 16]))
        .await
        .unwrap_err();
    assert!(matches!(err, RoleError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_client_for_an_address_nobody_listens_on_is_unavailable() {
    // Bind then drop a listener to find a port that is (very likely) closed.
    let addr = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().to_string()
    };
    let client = IngesterClient::new(&addr, &options()).unwrap();
    let err = client.ready().await.unwrap_err();
    assert!(matches!(err, RoleError::Unavailable(_)), "{err:?}");
}

#[test]
fn bad_addresses_are_refused() {
    for bad in ["", "http://host:1", "host:1/path", "a b:1"] {
        assert!(
            IngesterClient::new(bad, &options()).is_err(),
            "{bad:?} was accepted"
        );
    }
}
