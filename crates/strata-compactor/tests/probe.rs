//! The compactor ring's readiness probe against real listeners: plain HTTP, and HTTPS with a
//! test CA (certificates made by `openssl` for each run).

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use strata_compactor::HttpReadyProbe;
use strata_config::{GrpcClientTlsConfig, TlsServerConfig};
use strata_ring::Probe;
use strata_testkit::pki::Pki;
use strata_tls::{Alpn, ClientTls};

/// Serves `/ready` answering `status` on a free port, over TLS when `tls` has a certificate;
/// the member address.
async fn member(tls: &TlsServerConfig, status: StatusCode) -> String {
    let listener = strata_server::listen("127.0.0.1:0", tls, Alpn::Http)
        .await
        .unwrap();
    let addr = listener.local_addr();
    let app = Router::new().route("/ready", get(move || async move { status }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

fn client(ca: &std::path::Path) -> ClientTls {
    let cfg = GrpcClientTlsConfig {
        tls_enabled: true,
        tls_ca_path: ca.display().to_string(),
        ..Default::default()
    };
    ClientTls::from_config(&cfg).unwrap().unwrap()
}

#[tokio::test]
async fn members_serving_tls_are_probed_over_https_with_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(&dir.path().join("pki"), "ca");
    let leaf = pki.issue("member", "member");
    let tls = TlsServerConfig {
        cert_file: leaf.cert.display().to_string(),
        key_file: leaf.key.display().to_string(),
        ..Default::default()
    };
    let ready = member(&tls, StatusCode::OK).await;
    let not_ready = member(&tls, StatusCode::SERVICE_UNAVAILABLE).await;
    let timeout = Duration::from_secs(5);

    let https = HttpReadyProbe::new(timeout).with_tls(Some(client(pki.ca_cert())));
    assert!(https.probe(&ready).await);
    assert!(!https.probe(&not_ready).await);
    // Plain HTTP to a TLS port gets no answer.
    assert!(!HttpReadyProbe::new(timeout).probe(&ready).await);
    // A certificate of another CA does not verify: unhealthy.
    let other = Pki::new(&dir.path().join("other"), "other");
    let stranger = HttpReadyProbe::new(timeout).with_tls(Some(client(other.ca_cert())));
    assert!(!stranger.probe(&ready).await);

    // Members serving plain HTTP are probed over plain HTTP.
    let plain = member(&TlsServerConfig::default(), StatusCode::OK).await;
    assert!(HttpReadyProbe::new(timeout).probe(&plain).await);
    assert!(!https.probe(&plain).await);
}
