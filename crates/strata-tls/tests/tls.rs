//! Real TLS handshakes between a [`Listener`] and [`ClientTls`] connections, with certificates
//! made by `openssl` for each test.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use strata_common::{ManualClock, SharedClock};
use strata_config::{ClientAuthType, GrpcClientTlsConfig, TlsServerConfig};
use strata_testkit::pki::{Issued, Pki};
use strata_tls::{Alpn, ClientTls, Listener, ServerTls, RELOAD_CHECK_INTERVAL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower::Service;

fn server_cfg(pki: &Pki, leaf: &Issued, auth: ClientAuthType) -> TlsServerConfig {
    TlsServerConfig {
        cert_file: leaf.cert.display().to_string(),
        key_file: leaf.key.display().to_string(),
        client_auth_type: auth,
        client_ca_file: match auth {
            ClientAuthType::NoClientCert => String::new(),
            _ => pki.ca_cert().display().to_string(),
        },
    }
}

fn client(pki: &Pki, cert: Option<&Issued>) -> ClientTls {
    let cfg = GrpcClientTlsConfig {
        tls_enabled: true,
        tls_ca_path: pki.ca_cert().display().to_string(),
        tls_cert_path: cert
            .map(|c| c.cert.display().to_string())
            .unwrap_or_default(),
        tls_key_path: cert
            .map(|c| c.key.display().to_string())
            .unwrap_or_default(),
        ..Default::default()
    };
    ClientTls::from_config(&cfg).unwrap().unwrap()
}

/// A listener echoing one line per connection; its address.
async fn echo_server(tls: &ServerTls) -> std::net::SocketAddr {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut listener = Listener::new(tcp, Some(tls));
    let addr = listener.local_addr();
    tokio::spawn(async move {
        loop {
            let mut conn = listener.accept().await;
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                if let Ok(n) = conn.read(&mut buf).await {
                    let _ = conn.write_all(&buf[..n]).await;
                    let _ = conn.shutdown().await;
                }
            });
        }
    });
    addr
}

/// Connects with `client`, sends `ping`, and returns the echo and the server's certificate.
async fn ping(
    client: &ClientTls,
    addr: std::net::SocketAddr,
) -> std::io::Result<(Vec<u8>, CertificateDer<'static>)> {
    let mut connector = client
        .connector("localhost", Duration::from_secs(5))
        .unwrap();
    let uri: http::Uri = format!("http://{addr}").parse().unwrap();
    let io = connector.call(uri).await?;
    let mut tls = io.into_inner();
    let served = tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned();
    tls.write_all(b"ping").await?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await?;
    Ok((out, served))
}

/// The exchange failed (at the handshake, or with an alert instead of the echo).
fn refused(r: std::io::Result<(Vec<u8>, CertificateDer<'static>)>) -> bool {
    !matches!(r, Ok((echo, _)) if echo == b"ping")
}

fn der(cert: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(cert).unwrap()
}

#[tokio::test]
async fn mutual_tls_accepts_a_signed_client_and_refuses_one_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let server = pki.issue("server", "server");
    let signed = pki.issue("client", "client");
    let cfg = server_cfg(&pki, &server, ClientAuthType::RequireAndVerifyClientCert);
    let tls = ServerTls::from_config(&cfg, Alpn::Grpc).unwrap().unwrap();
    let addr = echo_server(&tls).await;

    let (echo, served) = ping(&client(&pki, Some(&signed)), addr).await.unwrap();
    assert_eq!(echo, b"ping");
    assert_eq!(served, der(&server.cert));

    assert!(
        refused(ping(&client(&pki, None), addr).await),
        "a client without a certificate must be refused"
    );
    let other = Pki::new(&dir.path().join("other"), "other-ca");
    let stranger = other.issue("stranger", "stranger");
    assert!(
        refused(ping(&client(&pki, Some(&stranger)), addr).await),
        "a certificate of another CA must be refused"
    );
    let (echo, _) = ping(&client(&pki, Some(&signed)), addr).await.unwrap();
    assert_eq!(echo, b"ping", "the listener goes on after refusals");
}

#[tokio::test]
async fn a_plaintext_client_is_disconnected_and_the_listener_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let server = pki.issue("server", "server");
    let cfg = server_cfg(&pki, &server, ClientAuthType::NoClientCert);
    let tls = ServerTls::from_config(&cfg, Alpn::Http).unwrap().unwrap();
    let addr = echo_server(&tls).await;

    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = plain.read_to_end(&mut out).await;
    assert!(
        !out.starts_with(b"HTTP/"),
        "no plaintext answer from a TLS listener: {out:?}"
    );
    let (echo, _) = ping(&client(&pki, None), addr).await.unwrap();
    assert_eq!(echo, b"ping");
}

#[tokio::test]
async fn replaced_certificate_files_are_served_after_the_check_interval() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let first = pki.issue("server", "first");
    let cfg = server_cfg(&pki, &first, ClientAuthType::NoClientCert);
    let first_der = der(&first.cert);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let shared: SharedClock = clock.clone();
    let tls = ServerTls::with_clock(&cfg, Alpn::Grpc, shared)
        .unwrap()
        .unwrap();
    let addr = echo_server(&tls).await;
    let c = client(&pki, None);
    assert_eq!(ping(&c, addr).await.unwrap().1, first_der);

    // A key that does not match the certificate yet (the key file is written second): the
    // old pair stays in use.
    let second = pki.issue("next", "second");
    std::fs::copy(&second.cert, &first.cert).unwrap();
    clock.advance(RELOAD_CHECK_INTERVAL);
    assert_eq!(ping(&c, addr).await.unwrap().1, first_der);

    std::fs::copy(&second.key, &first.key).unwrap();
    assert_eq!(
        ping(&c, addr).await.unwrap().1,
        first_der,
        "not checked again before the interval"
    );
    clock.advance(RELOAD_CHECK_INTERVAL);
    assert_eq!(ping(&c, addr).await.unwrap().1, der(&second.cert));
}

#[tokio::test]
async fn optional_client_certificates_are_verified_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let server = pki.issue("server", "server");
    let cfg = server_cfg(&pki, &server, ClientAuthType::VerifyClientCertIfGiven);
    let tls = ServerTls::from_config(&cfg, Alpn::Grpc).unwrap().unwrap();
    let addr = echo_server(&tls).await;

    assert!(!refused(ping(&client(&pki, None), addr).await));
    let signed = pki.issue("client", "client");
    assert!(!refused(ping(&client(&pki, Some(&signed)), addr).await));
    let other = Pki::new(&dir.path().join("other"), "other-ca");
    let stranger = other.issue("stranger", "stranger");
    assert!(refused(ping(&client(&pki, Some(&stranger)), addr).await));
}

#[tokio::test]
async fn clients_verify_the_server_unless_told_to_skip() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let other = Pki::new(&dir.path().join("other"), "other-ca");
    let foreign = other.issue("foreign", "foreign");
    let cfg = server_cfg(&other, &foreign, ClientAuthType::NoClientCert);
    let tls = ServerTls::from_config(&cfg, Alpn::Grpc).unwrap().unwrap();
    let addr = echo_server(&tls).await;

    assert!(
        refused(ping(&client(&pki, None), addr).await),
        "a server certificate of another CA is refused"
    );
    let skip = GrpcClientTlsConfig {
        tls_enabled: true,
        tls_insecure_skip_verify: true,
        ..Default::default()
    };
    let skip = ClientTls::from_config(&skip).unwrap().unwrap();
    assert!(!refused(ping(&skip, addr).await));

    // The certificate names localhost and 127.0.0.1: another name is refused.
    let renamed = GrpcClientTlsConfig {
        tls_enabled: true,
        tls_ca_path: other.ca_cert().display().to_string(),
        tls_server_name: "ingester.example".into(),
        ..Default::default()
    };
    let renamed = ClientTls::from_config(&renamed).unwrap().unwrap();
    assert!(refused(ping(&renamed, addr).await));
    assert!(!refused(ping(&client(&other, None), addr).await));
}

#[test]
fn bad_files_fail_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let server = pki.issue("server", "server");
    let other = pki.issue("other", "other");
    let mut cfg = server_cfg(&pki, &server, ClientAuthType::NoClientCert);
    let err = |cfg: &TlsServerConfig| {
        ServerTls::from_config(cfg, Alpn::Http)
            .unwrap_err()
            .to_string()
    };

    cfg.cert_file = dir.path().join("missing.crt").display().to_string();
    let e = err(&cfg);
    assert!(e.contains("missing.crt"), "{e}");

    let garbage = dir.path().join("garbage.crt");
    std::fs::write(&garbage, "not PEM at all").unwrap();
    cfg.cert_file = garbage.display().to_string();
    let e = err(&cfg);
    assert!(
        e.contains("garbage.crt") && e.contains("no PEM certificate"),
        "{e}"
    );

    cfg.cert_file = server.cert.display().to_string();
    cfg.key_file = other.key.display().to_string();
    let e = err(&cfg);
    assert!(
        e.contains("server.crt") && e.contains("other.key") && e.contains("does not match"),
        "{e}"
    );

    cfg.key_file = server.cert.display().to_string();
    let e = err(&cfg);
    assert!(e.contains("server.crt") && e.contains("private key"), "{e}");
}
