//! Routes every process serves.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;

use crate::Readiness;

/// Version information reported by `/api/status/buildinfo`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub branch: String,
    pub build_user: String,
    pub build_date: String,
    pub go_version: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_string(),
            revision: option_env!("STRATA_GIT_REVISION")
                .unwrap_or("unknown")
                .to_string(),
            branch: option_env!("STRATA_GIT_BRANCH")
                .unwrap_or("unknown")
                .to_string(),
            build_user: String::new(),
            build_date: String::new(),
            // Tempo reports its Go version here; Strata reports the Rust toolchain it needs.
            go_version: format!("rust {}", env!("CARGO_PKG_RUST_VERSION")),
        }
    }
}

/// What the common routes need.
#[derive(Clone)]
pub struct CommonState {
    pub registry: Arc<Registry>,
    pub readiness: Readiness,
    pub build_info: BuildInfo,
}

/// `/ready`, `/metrics`, `/api/echo`, `/api/status/buildinfo`.
pub fn common_routes(state: CommonState) -> Router {
    Router::new()
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/echo", get(echo))
        .route("/api/status/buildinfo", get(buildinfo))
        .with_state(state)
}

async fn ready(State(s): State<CommonState>) -> Response {
    let holds = s.readiness.holds();
    let mut body = if s.readiness.is_ready() {
        String::from("ready\n")
    } else if holds.is_empty() {
        String::from("not ready: starting or stopping\n")
    } else {
        String::from("not ready: waiting for\n")
    };
    for h in holds {
        body.push_str(&h);
        body.push('\n');
    }
    for d in s.readiness.details() {
        body.push_str(&d);
        body.push('\n');
    }
    let code = if s.readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body).into_response()
}

async fn echo() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "echo\n",
    )
}

async fn buildinfo(State(s): State<CommonState>) -> impl IntoResponse {
    axum::Json(s.build_info.clone())
}

async fn metrics(State(s): State<CommonState>) -> Response {
    let mut out = String::new();
    match prometheus_client::encoding::text::encode(&mut out, &s.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            out,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
