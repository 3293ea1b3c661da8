//! The server side: a rustls `ServerConfig` whose certificate, and client CA when clients are
//! verified, are [`Watched`] files.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::DistinguishedName;
use strata_common::{SharedClock, SystemClock};
use strata_config::{ClientAuthType, TlsServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::pem;
use crate::provider::{self, delegate_signatures, Signatures};
use crate::watch::Watched;
use crate::TlsError;

/// The application protocols a listener offers (ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// gRPC: `h2`.
    Grpc,
    /// HTTP APIs: `h2`, `http/1.1`.
    Http,
}

impl Alpn {
    pub(crate) fn protocols(self) -> Vec<Vec<u8>> {
        match self {
            Alpn::Grpc => vec![b"h2".to_vec()],
            Alpn::Http => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }
}

/// A TLS listener's settings, ready to accept handshakes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
}

impl ServerTls {
    /// The settings of `cfg` (`None` when it leaves the listener on plain TCP), with the
    /// system clock.
    pub fn from_config(cfg: &TlsServerConfig, alpn: Alpn) -> Result<Option<Self>, TlsError> {
        Self::with_clock(cfg, alpn, Arc::new(SystemClock))
    }

    /// As [`ServerTls::from_config`], with reload checks timed by `clock`.
    pub fn with_clock(
        cfg: &TlsServerConfig,
        alpn: Alpn,
        clock: SharedClock,
    ) -> Result<Option<Self>, TlsError> {
        if !cfg.is_enabled() {
            return Ok(None);
        }
        cfg.validate("tls").map_err(TlsError::Settings)?;
        let provider = provider::provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Settings(e.to_string()))?;
        let builder = match cfg.client_auth_type {
            ClientAuthType::NoClientCert => builder.with_no_client_auth(),
            auth => {
                let mandatory = auth == ClientAuthType::RequireAndVerifyClientCert;
                let verifier =
                    ClientVerifier::new(&cfg.client_ca_file, mandatory, provider, clock.clone())?;
                builder.with_client_cert_verifier(Arc::new(verifier))
            }
        };
        let (cert, key) = (PathBuf::from(&cfg.cert_file), PathBuf::from(&cfg.key_file));
        let files = vec![cert.clone(), key.clone()];
        let watched = Watched::new("certificate", files, clock, move || {
            pem::certified_key(&cert, &key)
        })?;
        let mut config = builder.with_cert_resolver(Arc::new(CertResolver(watched)));
        config.alpn_protocols = alpn.protocols();
        // No session resumption: every connection makes a full handshake, so it is served the
        // current certificate and its client certificate is checked against the current CA.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Some(Self {
            config: Arc::new(config),
        }))
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// Serves the current certificate.
#[derive(Debug)]
struct CertResolver(Watched<CertifiedKey>);

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }
}

/// Verifies client certificates against the current client CA file.
#[derive(Debug)]
struct ClientVerifier {
    roots: Watched<Arc<dyn ClientCertVerifier>>,
    mandatory: bool,
    signatures: Signatures,
}

impl ClientVerifier {
    fn new(
        ca_file: &str,
        mandatory: bool,
        provider: Arc<CryptoProvider>,
        clock: SharedClock,
    ) -> Result<Self, TlsError> {
        let ca = PathBuf::from(ca_file);
        let p = provider.clone();
        let roots = Watched::new("client CA", vec![ca.clone()], clock, move || {
            let builder = WebPkiClientVerifier::builder_with_provider(pem::roots(&ca)?, p.clone());
            let builder = match mandatory {
                true => builder,
                false => builder.allow_unauthenticated(),
            };
            builder.build().map_err(|e| TlsError::Invalid {
                path: ca.display().to_string(),
                message: format!("cannot verify clients with it: {e}"),
            })
        })?;
        Ok(Self {
            roots,
            mandatory,
            signatures: Signatures(provider),
        })
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    /// No hints: clients send the certificate they have (hints are optional in TLS).
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.roots
            .get()
            .verify_client_cert(end_entity, intermediates, now)
    }

    delegate_signatures!(signatures);
}
