//! Tempo's trace-by-ID endpoints.
//!
//! * `GET /api/traces/{id}`: `tempopb.Trace` as protobuf when `Accept` contains
//!   `application/protobuf`, else JSON with `batches`; 404 with an empty body when absent;
//!   422 `trace exceeds max size` past `max_bytes_per_trace`.
//! * `GET /api/v2/traces/{id}`: `tempopb.TraceByIDResponse`; always 200 with a `trace` field,
//!   `PARTIAL` with a message when the trace was cut to the size limit.
//!
//! The tenant is decided by the gate in [`router`] (Tempo's rules without credentials: with
//! multitenancy on a missing `X-Scope-OrgID` is 401 `no org id`, an invalid one 400, and
//! `a|b` cross-tenant reads are not supported).
//!
//! IDs are 1–32 hex characters; `start`/`end` are optional unix seconds with `end > start`.
//! Errors are plain-text bodies.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_proto::tempopb::{PartialStatus, TraceByIdMetrics, TraceByIdResponse};
use strata_server::auth::{self, Edge};

use crate::{FoundTrace, Querier, QueryError};

pub(crate) const PROTOBUF: &str = "application/protobuf";

/// The query API routes. Every route is behind, outermost first: request observation, the
/// tenant gate (`strata_server::auth`: credentials and `X-Scope-OrgID` → the tenant in the
/// request's extensions, or 401/403/400), per-tenant isolation. A route serving tenant data
/// must be added here, under the gate; the trace explorer's page and files ([`crate::ui`]) sit
/// outside it (they hold no tenant data).
pub fn router(querier: Querier) -> Router {
    let routes = Router::new()
        .route("/api/traces/{id}", get(trace_v1))
        .route("/api/v2/traces/{id}", get(trace_v2))
        .merge(crate::http_search::routes())
        .merge(crate::http_metrics::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            querier.clone(),
            crate::http_isolate::isolate,
        ))
        // Peers' search jobs: behind the tenant gate, not the per-tenant slots (the search
        // holds one where it was received; see `http_peer`).
        .merge(crate::http_peer::routes());
    auth::layer::http_routes(routes, querier.tenants().clone(), Edge::Query, "query")
        .route_layer(axum::middleware::from_fn_with_state(
            querier.clone(),
            crate::http_observe::observe,
        ))
        .merge(crate::ui::routes())
        .with_state(querier)
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.kind().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "query failed");
        }
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.to_string(),
        )
            .into_response()
    }
}

fn parse_id(s: &str) -> Result<TraceId, QueryError> {
    TraceId::from_hex(s).map_err(|e| QueryError::BadRequest(format!("invalid trace id: {e}")))
}

/// Optional `start`/`end` (unix seconds) as a nanosecond range.
fn parse_range(params: &HashMap<String, String>) -> Result<Option<(u64, u64)>, QueryError> {
    let get = |k: &str| -> Result<Option<u64>, QueryError> {
        match params.get(k).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(Some)
                .map_err(|_| QueryError::BadRequest(format!("invalid {k}: {v}"))),
        }
    };
    let (start, end) = (get("start")?, get("end")?);
    if start.is_none() && end.is_none() {
        return Ok(None);
    }
    let start = start.unwrap_or(0);
    let end = end.unwrap_or(u64::MAX / 1_000_000_000);
    if end <= start {
        return Err(QueryError::BadRequest(
            "http parameter end must be greater than start".into(),
        ));
    }
    Ok(Some((
        start.saturating_mul(1_000_000_000),
        end.saturating_mul(1_000_000_000)
            .saturating_add(999_999_999),
    )))
}

pub(crate) fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(PROTOBUF))
}

/// The part both versions share: tenant, ID and range checks, then the lookup.
async fn lookup(
    q: &Querier,
    tenant: &TenantId,
    id: &str,
    params: &HashMap<String, String>,
) -> Result<FoundTrace, QueryError> {
    let id = parse_id(id)?;
    let range = parse_range(params)?;
    q.find_trace(tenant, &id, range).await
}

async fn trace_v1(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, QueryError> {
    let found = lookup(&q, &tenant, &id, &params).await?;
    if found.spans == 0 && !found.partial {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    if found.partial {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "trace exceeds max size",
        )
            .into_response());
    }
    if wants_protobuf(&headers) {
        Ok((
            [(header::CONTENT_TYPE, PROTOBUF)],
            found.trace.encode_to_vec(),
        )
            .into_response())
    } else {
        Ok(axum::Json(strata_proto::json::trace_v1_json(&found.trace)).into_response())
    }
}

async fn trace_v2(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, QueryError> {
    let found = lookup(&q, &tenant, &id, &params).await?;
    let (status, message) = if found.partial {
        (
            PartialStatus::Partial as i32,
            format!(
                "Trace exceeds maximum size of {} bytes, a partial trace is returned",
                q.settings().max_bytes_per_trace
            ),
        )
    } else {
        (PartialStatus::Complete as i32, String::new())
    };
    let resp = TraceByIdResponse {
        trace: Some(found.trace),
        metrics: Some(TraceByIdMetrics {
            inspected_bytes: found.inspected_bytes,
        }),
        status,
        message,
    };
    if wants_protobuf(&headers) {
        Ok(([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response())
    } else {
        Ok(axum::Json(strata_proto::json::trace_by_id_v2_json(&resp)).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(parse_range(&params(&[])).unwrap(), None);
        let (s, e) = parse_range(&params(&[("start", "10"), ("end", "20")]))
            .unwrap()
            .unwrap();
        assert_eq!(s, 10_000_000_000);
        assert_eq!(e, 20_999_999_999);
        assert!(parse_range(&params(&[("start", "20"), ("end", "10")])).is_err());
        assert!(parse_range(&params(&[("start", "x")])).is_err());
    }

    #[test]
    fn ids_are_checked() {
        assert!(parse_id("abc").is_ok());
        assert!(parse_id("zz").is_err());
        assert!(parse_id(&"1".repeat(33)).is_err());
    }
}
