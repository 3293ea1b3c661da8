//! The explorer's files through the querier's real router (a real in-process ingester, an
//! in-memory object store): content types, `/` is the page, unknown files are 404, revalidation
//! answers 304, and the API's routes are untouched.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use strata_ingester::testing::Node;
use tower::ServiceExt;

use super::{ASSETS, INDEX};
use crate::{BlockList, Querier, QuerierMetrics, QuerierSettings};

fn app() -> (Router, Arc<Node>) {
    let node = Arc::new(Node::start("ingester-0", &|_| {}));
    let store = Arc::new(object_store::memory::InMemory::new());
    let settings = QuerierSettings {
        multitenancy_enabled: true,
        max_bytes_per_trace: 1 << 20,
        blocklist_poll: std::time::Duration::from_secs(60),
        search: Default::default(),
    };
    let metrics = QuerierMetrics::new(&mut prometheus_client::registry::Registry::default());
    let q = Querier::new(node.clone(), BlockList::new(store), settings, metrics);
    (crate::http::router(q), node)
}

async fn get(
    app: &Router,
    path: &str,
    etag: Option<&str>,
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(path);
    if let Some(t) = etag {
        req = req.header(header::IF_NONE_MATCH, t);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

fn content_type(h: &http::HeaderMap) -> &str {
    h.get(header::CONTENT_TYPE).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn the_page_is_served_at_the_root_with_its_type() {
    let (app, _node) = app();
    let (status, h, body) = get(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&h), "text/html; charset=utf-8");
    assert_eq!(body, INDEX.body);
    assert!(String::from_utf8(body).unwrap().contains("/ui/app.js"));
    assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-cache");
}

#[tokio::test]
async fn every_asset_has_its_content_type_and_bytes() {
    let (app, _node) = app();
    for (name, want) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("waterfall.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let (status, h, body) = get(&app, &format!("/ui/{name}"), None).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(content_type(&h), want, "{name}");
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        let asset = ASSETS.iter().find(|a| a.name == name).unwrap();
        assert_eq!(body, asset.body, "{name}");
    }
}

#[tokio::test]
async fn every_module_the_page_imports_is_served() {
    // A module imported by another but missing from ASSETS would break the page in a browser
    // only; check every `from "./x.js"` names an asset.
    let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
    for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
        let text = std::str::from_utf8(a.body).unwrap();
        for part in text.split("from \"./").skip(1) {
            let imported = &part[..part.find('"').unwrap()];
            assert!(names.contains(&imported), "{} imports {imported}", a.name);
        }
    }
}

#[tokio::test]
async fn unknown_files_are_404() {
    let (app, _node) = app();
    for path in [
        "/ui/nope.js",
        "/ui/..%2Fsrc%2Flib.rs",
        "/ui/",
        "/index.html",
    ] {
        let (status, _, _) = get(&app, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_matching_etag_is_not_modified() {
    let (app, _node) = app();
    let (_, h, _) = get(&app, "/ui/app.js", None).await;
    let tag = h.get(header::ETAG).unwrap().to_str().unwrap().to_string();
    let (status, h2, body) = get(&app, "/ui/app.js", Some(&tag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(h2.get(header::ETAG).unwrap().to_str().unwrap(), tag);
    // Another file's tag does not match.
    let (status, _, _) = get(&app, "/ui/style.css", Some(&tag)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_api_routes_still_answer() {
    let (app, _node) = app();
    // Multitenancy is on: the API still asks for a tenant, the page does not.
    let (status, _, body) = get(&app, "/api/search/tags", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, b"no org id");
    let (status, _, _) = get(&app, "/api/traces/zz", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
}
