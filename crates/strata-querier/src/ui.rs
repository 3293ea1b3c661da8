//! The built-in trace explorer: static files compiled into the binary and served on the query
//! API's port, next to the API it calls.
//!
//! * `GET /` is `index.html`; `GET /ui/{file}` is one of [`ASSETS`] (ES modules, the style
//!   sheet, the icon). Any other `/ui/…` name is 404 with a plain-text body.
//! * Every answer carries its `Content-Type`, an `ETag` (a hash of the bytes, fixed for a given
//!   binary) and `Cache-Control: no-cache`: browsers keep the files but revalidate each load, so
//!   an upgraded binary is never hidden behind a stale cache; a matching `If-None-Match` is 304.
//! * The files live in `crates/strata-querier/ui/` and are plain JavaScript, CSS and SVG with no
//!   build step; nothing is fetched at run time. The page calls the query API with the
//!   `X-Scope-OrgID` the user picks.
//!
//! These routes sit outside the API's middleware (request metrics, per-tenant query slots):
//! files are not queries and have no tenant.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file: its name under `/ui/`, content type and bytes.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $ct:expr) => {
        Asset {
            name: $name,
            content_type: $ct,
            body: include_bytes!(concat!("../ui/", $name)),
        }
    };
}

/// The page's entry point, served at `/`.
pub const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

/// Every file served under `/ui/`.
pub const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("search.js", JS),
    asset!("autocomplete.js", JS),
    asset!("trace.js", JS),
    asset!("waterfall.js", JS),
    asset!("details.js", JS),
    asset!("graph.js", JS),
    asset!("chart.js", JS),
];

/// The explorer's routes, for any router state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/ui/{file}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX, &headers)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => serve(a, &headers),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no such file: /ui/{name}"),
        )
            .into_response(),
    }
}

/// The ETag of an asset: a quoted hex hash of its bytes, computed once per process.
fn etag(a: &Asset) -> &'static str {
    static TAGS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        std::iter::once(&INDEX)
            .chain(ASSETS)
            .map(|a| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                a.body.hash(&mut h);
                (a.name, format!("\"{:016x}\"", h.finish()))
            })
            .collect()
    });
    tags.iter()
        .find(|(n, _)| *n == a.name)
        .map(|(_, t)| t.as_str())
        .unwrap_or("\"0\"")
}

fn serve(a: &Asset, headers: &HeaderMap) -> Response {
    let tag = etag(a);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let common = [
        (header::ETAG, HeaderValue::from_static(tag)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        a.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
