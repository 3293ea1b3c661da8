//! Tempo's search and tag-discovery endpoints (contract §2.3–§2.5):
//!
//! * `GET /api/search`: `tempopb.SearchResponse`, JSON (only the fields Grafana's strict
//!   decoder knows) or protobuf by `Accept`.
//! * `GET /api/search/tags`, `GET /api/v2/search/tags`: tag names, flat (v1) or per scope (v2).
//! * `GET /api/search/tag/{name}/values`, `GET /api/v2/search/tag/{name}/values`: values,
//!   plain strings (v1) or typed (v2). The name may contain `/`, raw or `%2F`-encoded.
//!
//! Bad parameters and malformed TraceQL are 400 with the message as a plain-text body.
//!
//! An answer cut by the tenant's scan budget ([`crate::budget`]) is still 200: Grafana decodes
//! these bodies strictly, so they gain no field. It carries the `X-Strata-Status: PARTIAL` and
//! `X-Strata-Message` headers, and a search's `metrics.completedJobs` is below `totalJobs`.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use prost::Message;
use serde_json::{json, Value};
use strata_common::TenantId;
use strata_proto::tempopb::{MetadataMetrics, SearchTagValuesRequest, SearchTagsRequest};

use crate::budget::{partial_headers, Cut};
use crate::http::{wants_protobuf, PROTOBUF};
use crate::params::{range, search_request};
use crate::{Querier, QueryError};

type Params = Query<Vec<(String, String)>>;

pub fn routes() -> Router<Querier> {
    Router::new()
        .route("/api/search", get(search))
        .route("/api/search/tags", get(tags_v1))
        .route("/api/v2/search/tags", get(tags_v2))
        .route("/api/search/tag/{*rest}", get(values_v1))
        .route("/api/v2/search/tag/{*rest}", get(values_v2))
}

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError::BadRequest(msg.into())
}

fn first<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn search(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Response, QueryError> {
    let req = search_request(&params)?;
    let forward = crate::Forward::from_headers(&headers);
    let (resp, cut) = q.search_shared(&tenant, &req, &forward).await?;
    let out = if wants_protobuf(&headers) {
        ([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response()
    } else {
        axum::Json(strata_proto::json::search_response_json(&resp)).into_response()
    };
    Ok(marked(out, cut.as_ref()))
}

/// `resp` with the partial-answer headers when `cut`.
fn marked(mut resp: Response, cut: Option<&Cut>) -> Response {
    if let Some(cut) = cut {
        partial_headers(resp.headers_mut(), &cut.message());
    }
    resp
}

/// Parameters shared by the tag endpoints.
fn tags_request(params: &[(String, String)]) -> Result<SearchTagsRequest, QueryError> {
    let scope = first(params, "scope").unwrap_or("").trim().to_string();
    const SCOPES: &[&str] = &[
        "",
        "none",
        "resource",
        "span",
        "event",
        "link",
        "instrumentation",
        "intrinsic",
    ];
    if !SCOPES.contains(&scope.as_str()) {
        return Err(bad(format!("invalid scope: {scope}")));
    }
    let (start, end) = range(params)?;
    Ok(SearchTagsRequest {
        scope,
        start: start.unwrap_or(0),
        end: end.unwrap_or(0),
        // Invalid limits are ignored, as Tempo does.
        max_tags_per_scope: first(params, "limit")
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0),
        query: first(params, "q").unwrap_or("").to_string(),
    })
}

async fn tags_v1(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Query(params): Params,
) -> Result<Response, QueryError> {
    let req = tags_request(&params)?;
    let (resp, cut) = q.search_tags(&tenant, &req).await?;
    // v1 is flat: span and resource names when unscoped, intrinsics only when asked for.
    let wanted: Vec<&str> = match req.scope.as_str() {
        "" | "none" => vec!["span", "resource"],
        s => vec![s],
    };
    let names: BTreeSet<&String> = resp
        .scopes
        .iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
        .flat_map(|s| &s.tags)
        .collect();
    let out = metadata_answer("tagNames", json!(names), resp.metrics);
    Ok(marked(out, cut.as_ref()))
}

async fn tags_v2(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Query(params): Params,
) -> Result<Response, QueryError> {
    let req = tags_request(&params)?;
    let (resp, cut) = q.search_tags(&tenant, &req).await?;
    let scopes: Vec<Value> = resp
        .scopes
        .iter()
        .filter(|s| !s.tags.is_empty())
        .map(|s| json!({"name": s.name, "tags": s.tags}))
        .collect();
    let out = metadata_answer("scopes", json!(scopes), resp.metrics);
    Ok(marked(out, cut.as_ref()))
}

/// A tag endpoint's body: `{"<key>": value, "metrics": {"inspectedBytes": "<n>"}}`.
fn metadata_answer(key: &str, value: Value, metrics: Option<MetadataMetrics>) -> Response {
    let bytes = metrics.map_or(0, |m| m.inspected_bytes);
    let metrics = if bytes == 0 {
        json!({})
    } else {
        json!({ "inspectedBytes": bytes.to_string() })
    };
    axum::Json(json!({ key: value, "metrics": metrics })).into_response()
}

/// `{name}/values` from the greedy path.
fn tag_name(rest: &str) -> Result<String, QueryError> {
    match rest.strip_suffix("/values") {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(bad("expected /api/search/tag/{tagName}/values")),
    }
}

fn values_request(
    rest: &str,
    params: &[(String, String)],
    v2: bool,
) -> Result<SearchTagValuesRequest, QueryError> {
    let name = tag_name(rest)?;
    if v2 {
        strata_traceql::parse_identifier(&name)
            .map_err(|e| bad(format!("invalid tag name {name:?}: {e}")))?;
    }
    let (start, end) = range(params)?;
    Ok(SearchTagValuesRequest {
        tag_name: name,
        query: first(params, "q").unwrap_or("").to_string(),
        start: start.unwrap_or(0),
        end: end.unwrap_or(0),
        max_tag_values: first(params, "limit")
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0),
        v2,
    })
}

async fn values_v1(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Path(rest): Path<String>,
    Query(params): Params,
) -> Result<Response, QueryError> {
    let req = values_request(&rest, &params, false)?;
    let (resp, cut) = q.search_tag_values(&tenant, &req).await?;
    let values: BTreeSet<&String> = resp.tag_values.iter().map(|v| &v.value).collect();
    let out = metadata_answer("tagValues", json!(values), resp.metrics);
    Ok(marked(out, cut.as_ref()))
}

async fn values_v2(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    Path(rest): Path<String>,
    Query(params): Params,
) -> Result<Response, QueryError> {
    let req = values_request(&rest, &params, true)?;
    let (resp, cut) = q.search_tag_values(&tenant, &req).await?;
    let values: Vec<Value> = resp
        .tag_values
        .iter()
        .map(|v| json!({"type": v.r#type, "value": v.value}))
        .collect();
    let out = metadata_answer("tagValues", json!(values), resp.metrics);
    Ok(marked(out, cut.as_ref()))
}
