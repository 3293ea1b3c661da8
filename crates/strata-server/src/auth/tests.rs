use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine as _;
use tower::ServiceExt as _;

use super::*;

const CONFIG: &str = "
multitenancy_enabled: true
auth:
  enabled: true
  credentials:
    - name: grafana
      token_sha256: {GRAFANA}
      tenants: [team-a, team-b]
    - name: ci
      token_sha256: {CI}
      tenants: [team-b]
    - username: alice
      password_hash: \"{ALICE}\"
      tenants: [team-a]
";

fn resolver(registry: &mut Registry) -> TenantResolver {
    let yaml = CONFIG
        .replace("{GRAFANA}", &hash_token(b"grafana-token"))
        .replace("{CI}", &hash_token(b"ci-token"))
        .replace("{ALICE}", &hash_password(b"wonderland").unwrap());
    let cfg = strata_config::Config::from_yaml(&yaml).unwrap();
    TenantResolver::from_config(&cfg, Overrides::default(), registry)
}

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(v).unwrap(),
        );
    }
    h
}

fn basic(user_pw: &str) -> Vec<u8> {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pw)
    )
    .into_bytes()
}

/// Request headers and the decision expected.
type Case<'a> = (Vec<(&'a str, &'a [u8])>, Result<TenantId, Refusal>);

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

#[tokio::test]
async fn credentials_decide_the_tenant_and_failures_are_counted() {
    let mut registry = Registry::default();
    let r = resolver(&mut registry);
    assert!(r.auth_enabled());
    let alice = basic("alice:wonderland");
    let cases: Vec<Case> = vec![
        (
            vec![("authorization", b"Bearer grafana-token".as_slice())],
            Ok(t("team-a")),
        ),
        (
            vec![
                ("authorization", b"Bearer grafana-token".as_slice()),
                ("x-scope-orgid", b"team-b".as_slice()),
            ],
            Ok(t("team-b")),
        ),
        (
            vec![("authorization", b"Bearer ci-token".as_slice())],
            Ok(t("team-b")),
        ),
        (
            vec![
                ("authorization", b"Bearer ci-token".as_slice()),
                ("x-scope-orgid", b"team-a".as_slice()),
            ],
            Err(Refusal::Forbidden),
        ),
        (vec![("authorization", alice.as_slice())], Ok(t("team-a"))),
        (
            vec![("x-scope-orgid", b"team-a".as_slice())],
            Err(Refusal::Missing),
        ),
        (
            vec![("authorization", b"Bearer wrong".as_slice())],
            Err(Refusal::Invalid),
        ),
        (
            vec![("authorization", b"Basic %%%".as_slice())],
            Err(Refusal::Invalid),
        ),
        (
            vec![("authorization", b"Bearer \xff\xfe".as_slice())],
            Err(Refusal::Invalid),
        ),
    ];
    for (h, want) in cases {
        let got = r.resolve(&headers(&h), Edge::Query, "query").await;
        assert_eq!(got, want, "{h:?}");
    }
    let wrong_pw = basic("alice:looking-glass");
    let h = headers(&[("authorization", wrong_pw.as_slice())]);
    assert_eq!(
        r.resolve(&h, Edge::Ingest, "otlp_grpc").await,
        Err(Refusal::Invalid)
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        "strata_auth_failures_total{reason=\"missing\",protocol=\"query\"} 1",
        "strata_auth_failures_total{reason=\"invalid\",protocol=\"query\"} 3",
        "strata_auth_failures_total{reason=\"forbidden\",protocol=\"query\"} 1",
        "strata_auth_failures_total{reason=\"invalid\",protocol=\"otlp_grpc\"} 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert!(!text.contains("team-"), "no tenant label: {text}");
}

#[tokio::test]
async fn without_auth_the_header_alone_names_the_tenant() {
    let r = TenantResolver::open(true);
    let h = headers(&[
        ("x-scope-orgid", b"team-a".as_slice()),
        ("authorization", b"Bearer x".as_slice()),
    ]);
    assert_eq!(r.resolve(&h, Edge::Query, "query").await, Ok(t("team-a")));
    assert_eq!(
        r.resolve(&HeaderMap::new(), Edge::Ingest, "otlp_http")
            .await,
        Err(Refusal::NoOrgId)
    );
    let single = TenantResolver::open(false);
    assert_eq!(
        single.resolve(&h, Edge::Ingest, "zipkin").await,
        Ok(TenantId::single())
    );
}

#[tokio::test]
async fn the_middleware_hands_the_tenant_to_the_handler_or_refuses() {
    let r = resolver(&mut Registry::default());
    let app = layer::http_routes(
        Router::new().route(
            "/who",
            get(|Extension(t): Extension<TenantId>| async move { t.to_string() }),
        ),
        r,
        Edge::Query,
        "query",
    );
    let call = |auth: Option<&'static str>, org: Option<&'static str>| {
        let app = app.clone();
        async move {
            let mut req = Request::get("/who");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            if let Some(o) = org {
                req = req.header("x-scope-orgid", o);
            }
            let resp = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let status = resp.status().as_u16();
            let challenge = resp.headers().contains_key("www-authenticate");
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
                .await
                .unwrap();
            (
                status,
                challenge,
                String::from_utf8_lossy(&body).to_string(),
            )
        }
    };
    assert_eq!(
        call(Some("Bearer grafana-token"), Some("team-b")).await,
        (200, false, "team-b".into())
    );
    assert_eq!(
        call(None, Some("team-b")).await,
        (401, true, "missing credentials".into())
    );
    assert_eq!(
        call(Some("Bearer ci-token"), Some("team-a")).await,
        (
            403,
            false,
            "tenant not allowed for these credentials".into()
        )
    );
}
