//! TLS helpers for tests against listeners with test certificates (`strata_testkit::pki`):
//! a blocking HTTPS probe (for readiness), the certificate a listener serves, and an async
//! HTTPS client trusting a test CA.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// A rustls client trusting only the CA certificates in `ca` (PEM).
pub fn client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("reading the test CA") {
        roots.add(cert.expect("test CA PEM")).expect("test CA");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A finished TLS handshake with `host:port` (the certificate must name `host`).
fn connect(
    hostport: &str,
    ca: &Path,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let conn =
        rustls::ClientConnection::new(client_config(ca), name).map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(hostport)?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// The status of `GET url` (`https://host:port/path`), verifying the server with `ca`.
pub fn blocking_get(url: &str, ca: &Path) -> std::io::Result<u16> {
    let rest = url.trim_start_matches("https://");
    let (hostport, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = connect(hostport, ca)?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n")?;
    let mut buf = Vec::new();
    // A server may close without close_notify after HTTP/1.0; what was read is enough.
    let _ = s.read_to_end(&mut buf);
    let head = String::from_utf8_lossy(&buf);
    Ok(head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

/// The leaf certificate (DER) the listener at `hostport` serves, verified with `ca`.
pub fn served_certificate(hostport: &str, ca: &Path) -> std::io::Result<Vec<u8>> {
    let s = connect(hostport, ca)?;
    let certs = s.conn.peer_certificates().unwrap_or_default();
    Ok(certs.first().map(|c| c.to_vec()).unwrap_or_default())
}

/// The DER of the first certificate of a PEM file.
pub fn certificate_der(pem: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(pem)
        .expect("certificate PEM")
        .to_vec()
}

/// An async HTTPS client (reqwest, rustls) trusting only `ca`.
pub fn https_client(ca: &Path) -> reqwest_tls::Client {
    let pem = std::fs::read(ca).expect("reading the test CA");
    let cert = reqwest_tls::Certificate::from_pem(&pem).expect("test CA PEM");
    reqwest_tls::Client::builder()
        .tls_certs_only([cert])
        .build()
        .expect("HTTPS client")
}
