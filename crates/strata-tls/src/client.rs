//! The client side of the internal gRPC: a rustls `ClientConfig` whose client certificate and
//! CA are [`Watched`] files, and the tonic [`Connector`] that dials with it.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;
use strata_common::{SharedClock, SystemClock};
use strata_config::GrpcClientTlsConfig;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::pem;
use crate::provider::{self, delegate_signatures, Signatures};
use crate::watch::Watched;
use crate::TlsError;

/// An internal client's TLS settings. Cheap to clone; clones share the reloading state.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
}

impl ClientTls {
    /// The settings of `cfg` (`None` when `tls_enabled` is false), with the system clock.
    pub fn from_config(cfg: &GrpcClientTlsConfig) -> Result<Option<Self>, TlsError> {
        Self::with_clock(cfg, Arc::new(SystemClock))
    }

    /// As [`ClientTls::from_config`], with reload checks timed by `clock`.
    pub fn with_clock(
        cfg: &GrpcClientTlsConfig,
        clock: SharedClock,
    ) -> Result<Option<Self>, TlsError> {
        if !cfg.tls_enabled {
            return Ok(None);
        }
        cfg.validate("tls").map_err(TlsError::Settings)?;
        let provider = provider::provider();
        let signatures = Signatures(provider.clone());
        let verifier: Arc<dyn ServerCertVerifier> = match cfg.tls_insecure_skip_verify {
            true => Arc::new(SkipVerify(signatures)),
            false => Arc::new(ServerVerifier::new(
                &cfg.tls_ca_path,
                signatures,
                clock.clone(),
            )?),
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Settings(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match cfg.tls_cert_path.is_empty() {
            true => builder.with_no_client_auth(),
            false => {
                let cert = PathBuf::from(&cfg.tls_cert_path);
                let key = PathBuf::from(&cfg.tls_key_path);
                let files = vec![cert.clone(), key.clone()];
                let watched = Watched::new("client certificate", files, clock, move || {
                    pem::certified_key(&cert, &key)
                })?;
                builder.with_client_cert_resolver(Arc::new(ClientCert(watched)))
            }
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let server_name = Some(cfg.tls_server_name.clone()).filter(|n| !n.is_empty());
        Ok(Some(Self {
            config: Arc::new(config),
            server_name,
        }))
    }

    /// A connector for the server at `host` (a DNS name or an IP address), which its
    /// certificate must name unless `tls_server_name` says otherwise.
    pub fn connector(&self, host: &str, connect_timeout: Duration) -> Result<Connector, TlsError> {
        let name = self.server_name.as_deref().unwrap_or(host);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|e| TlsError::Settings(format!("server name {name:?}: {e}")))?;
        Ok(Connector {
            tls: TlsConnector::from(self.config.clone()),
            server_name,
            connect_timeout,
        })
    }
}

/// Dials TCP (TCP_NODELAY) and then TLS; a tonic channel's connector
/// (`Endpoint::connect_with_connector_lazy`).
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
    server_name: ServerName<'static>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<TokioIo<TlsStream<TcpStream>>, std::io::Error>> + Send>>;

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let invalid = || {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("no host:port in {uri}"),
                )
            };
            let host = uri.host().ok_or_else(invalid)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = uri.port_u16().ok_or_else(invalid)?;
            let tcp = tokio::time::timeout(this.connect_timeout, TcpStream::connect((host, port)))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
                })??;
            tcp.set_nodelay(true)?;
            let tls = this.tls.connect(this.server_name.clone(), tcp).await?;
            Ok(TokioIo::new(tls))
        })
    }
}

/// Presents the current client certificate.
#[derive(Debug)]
struct ClientCert(Watched<CertifiedKey>);

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Verifies server certificates against the current CA file.
#[derive(Debug)]
struct ServerVerifier {
    roots: Watched<Arc<WebPkiServerVerifier>>,
    signatures: Signatures,
}

impl ServerVerifier {
    fn new(ca_file: &str, signatures: Signatures, clock: SharedClock) -> Result<Self, TlsError> {
        let ca = PathBuf::from(ca_file);
        let p = signatures.0.clone();
        let roots = Watched::new("CA", vec![ca.clone()], clock, move || {
            WebPkiServerVerifier::builder_with_provider(pem::roots(&ca)?, p.clone())
                .build()
                .map_err(|e| TlsError::Invalid {
                    path: ca.display().to_string(),
                    message: format!("cannot verify servers with it: {e}"),
                })
        })?;
        Ok(Self { roots, signatures })
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.roots.get().verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    delegate_signatures!(signatures);
}

/// `tls_insecure_skip_verify`: any server certificate is accepted (its handshake signature is
/// still checked, so the connection is at least to the key holder of what was presented).
#[derive(Debug)]
struct SkipVerify(Signatures);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    delegate_signatures!(0);
}
