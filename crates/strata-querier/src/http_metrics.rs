//! Tempo's TraceQL metrics endpoints (contract §2.6):
//!
//! * `GET /api/metrics/query_range`: `tempopb.QueryRangeResponse`;
//! * `GET /api/metrics/query`: `tempopb.QueryInstantResponse` (Grafana decodes it strictly:
//!   only Tempo's field names appear).
//!
//! JSON by default, protobuf when `Accept` asks for it. Parameters: `metrics_params`.
//! Malformed queries and refused ranges are 400 with a plain-text message; an answer cut by
//! the series limit or the tenant's scan budget ([`crate::budget`]) is `PARTIAL` with a
//! message, in the body (`status`, `message`: Tempo's own fields, known to Grafana's decoders
//! of both endpoints) and in the `X-Strata-Status` / `X-Strata-Message` headers. Both kinds of
//! cut are counted in `strata_querier_queries_cut_total{tenant,reason}`.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use prost::Message;
use strata_common::TenantId;
use strata_proto::tempopb::PartialStatus;

use crate::budget::{partial_headers, Cut};
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
    let (job, acc, cut) = q.metrics_query(&tenant, &req).await?;
    let mut resp = job.finish(&acc);
    mark(
        &q,
        &tenant,
        &mut resp.status,
        &mut resp.message,
        cut.as_ref(),
    );
    let mut out = if wants_protobuf(&headers) {
        ([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response()
    } else {
        axum::Json(strata_proto::json::query_range_response_json(&resp)).into_response()
    };
    if resp.status == PartialStatus::Partial as i32 {
        partial_headers(out.headers_mut(), &resp.message);
    }
    Ok(out)
}

/// Makes an answer `PARTIAL` when the scan budget cut it (its message joined to the series
/// limit's, if that cut it too), and counts a series-limit cut (the budget's is counted where
/// it happens).
fn mark(q: &Querier, tenant: &TenantId, status: &mut i32, message: &mut String, cut: Option<&Cut>) {
    if *status == PartialStatus::Partial as i32 {
        q.metrics().cuts.count(tenant, "series");
    }
    if let Some(cut) = cut {
        *status = PartialStatus::Partial as i32;
        if message.is_empty() {
            *message = cut.message();
        } else {
            *message = format!("{message} Also: {}", cut.message());
        }
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
    let (job, acc, cut) = q.metrics_query(&tenant, &req).await?;
    let mut resp = job.finish_instant(&acc);
    mark(
        &q,
        &tenant,
        &mut resp.status,
        &mut resp.message,
        cut.as_ref(),
    );
    let mut out = if wants_protobuf(&headers) {
        ([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response()
    } else {
        axum::Json(strata_proto::json::query_instant_response_json(&resp)).into_response()
    };
    if resp.status == PartialStatus::Partial as i32 {
        partial_headers(out.headers_mut(), &resp.message);
    }
    Ok(out)
}
