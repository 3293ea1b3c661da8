//! Tempo's TraceQL metrics endpoints (contract §2.6):
//!
//! * `GET /api/metrics/query_range`: `tempopb.QueryRangeResponse`;
//! * `GET /api/metrics/query`: `tempopb.QueryInstantResponse` (Grafana decodes it strictly:
//!   only Tempo's field names appear).
//!
//! JSON by default, protobuf when `Accept` asks for it. Parameters: `metrics_params`.
//! Malformed queries and refused ranges are 400 with a plain-text message; an answer cut by
//! the series limit is `PARTIAL` with a message.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use prost::Message;
use strata_common::TenantId;

use crate::http::{wants_protobuf, PROTOBUF};
use crate::metrics_params::{instant_request, range_request};
use crate::{Querier, QueryError};

type Params = Query<Vec<(String, String)>>;

pub fn routes() -> Router<Querier> {
    Router::new()
        .route("/api/metrics/query_range", get(query_range))
        .route("/api/metrics/query", get(query_instant))
}

async fn query_range(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Response, QueryError> {
    let limits = q.overrides().limits(&tenant);
    let req = range_request(&params, &limits.query_metrics)?;
    let (job, acc) = q.metrics_query(&tenant, &req).await?;
    let resp = job.finish(&acc);
    if wants_protobuf(&headers) {
        Ok(([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response())
    } else {
        Ok(axum::Json(strata_proto::json::query_range_response_json(&resp)).into_response())
    }
}

async fn query_instant(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Response, QueryError> {
    let limits = q.overrides().limits(&tenant);
    let req = instant_request(&params, &limits.query_metrics)?;
    let (job, acc) = q.metrics_query(&tenant, &req).await?;
    let resp = job.finish_instant(&acc);
    if wants_protobuf(&headers) {
        Ok(([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response())
    } else {
        Ok(axum::Json(strata_proto::json::query_instant_response_json(&resp)).into_response())
    }
}
