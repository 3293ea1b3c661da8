//! The middleware in front of every edge route: resolves the tenant with
//! [`TenantResolver::resolve`] before the body is read or decoded, and either inserts it into
//! the request's extensions (`strata_common::TenantId`, read by the handler) or answers the
//! refusal in the protocol's form. gRPC services get the same middleware through tonic's axum
//! router ([`grpc`]); a refusal there is a gRPC status (`UNAUTHENTICATED`, `PERMISSION_DENIED`).
//! A 401 over HTTP carries `WWW-Authenticate` when credentials are on, so browsers prompt.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use strata_proto::status::ApiError;

use super::{Edge, TenantResolver};

/// How a refusal is written for one protocol (the request's headers, the error).
pub type Render = fn(&HeaderMap, &ApiError) -> Response;

#[derive(Clone)]
struct Gate {
    resolver: TenantResolver,
    edge: Edge,
    protocol: &'static str,
    render: Render,
}

/// `router` (every route and its fallback) behind the tenant gate.
pub fn http<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    resolver: TenantResolver,
    edge: Edge,
    protocol: &'static str,
    render: Render,
) -> Router<S> {
    let gate = Gate {
        resolver,
        edge,
        protocol,
        render,
    };
    router.layer(from_fn_with_state(gate, run))
}

/// The routes of `router` behind the tenant gate (unmatched paths are not: they stay 404).
pub fn http_routes<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    resolver: TenantResolver,
    edge: Edge,
    protocol: &'static str,
) -> Router<S> {
    let gate = Gate {
        resolver,
        edge,
        protocol,
        render: plain,
    };
    router.route_layer(from_fn_with_state(gate, run))
}

/// gRPC `routes` behind the tenant gate (ingest side).
pub fn grpc(
    routes: tonic::service::Routes,
    resolver: TenantResolver,
    protocol: &'static str,
) -> tonic::service::Routes {
    let gate = Gate {
        resolver,
        edge: Edge::Ingest,
        protocol,
        render: grpc_status,
    };
    tonic::service::Routes::from(
        routes
            .into_axum_router()
            .layer(from_fn_with_state(gate, run)),
    )
}

async fn run(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    match gate
        .resolver
        .resolve(req.headers(), gate.edge, gate.protocol)
        .await
    {
        Ok(tenant) => {
            req.extensions_mut().insert(tenant);
            next.run(req).await
        }
        Err(refusal) => {
            let e = refusal.to_api_error(gate.edge);
            let mut resp = (gate.render)(req.headers(), &e);
            if resp.status() == StatusCode::UNAUTHORIZED && gate.resolver.auth_enabled() {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"strata\", Bearer realm=\"strata\""),
                );
            }
            resp
        }
    }
}

/// A plain-text refusal with the status table's HTTP status.
pub fn plain(_: &HeaderMap, e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        e.message.clone(),
    )
        .into_response()
}

/// A gRPC status refusal.
pub fn grpc_status(_: &HeaderMap, e: &ApiError) -> Response {
    e.to_grpc_status().into_http()
}
