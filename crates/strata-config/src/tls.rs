//! TLS settings, in Tempo's key names (dskit's server and gRPC-client blocks, the OpenTelemetry
//! Collector's receiver block):
//!
//! * [`TlsServerConfig`]: `server.http_tls_config` (the HTTP port: query API, `/ready`,
//!   `/metrics`) and `server.grpc_tls_config` (the internal gRPC server of ingesters and
//!   metrics-generators) — `cert_file`, `key_file`, `client_auth_type`, `client_ca_file`.
//! * [`ReceiverTlsConfig`]: a receiver's `tls` (`distributor.receivers.otlp.grpc_tls` /
//!   `http_tls`, `zipkin.tls`, `jaeger.protocols.{grpc,thrift_http}.tls`) — `cert_file`,
//!   `key_file`, `client_ca_file` (set: clients must present a certificate it signed).
//! * [`GrpcClientTlsConfig`]: `ingester_client.grpc_client_config` (every internal gRPC client:
//!   distributors and queriers to ingesters, distributors to metrics-generators) — `tls_enabled`,
//!   `tls_cert_path`, `tls_key_path`, `tls_ca_path`, `tls_server_name`,
//!   `tls_insecure_skip_verify`.
//!
//! Files are PEM. An empty `cert_file` leaves a listener on plain TCP (the default). Files are
//! read when the process starts (an unreadable or invalid file stops it, naming the file) and
//! again whenever they change on disk.

use serde::{Deserialize, Serialize};

/// Whether, and how, a server asks clients for a certificate (Go's `tls.ClientAuthType`
/// names, as Tempo takes them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientAuthType {
    /// No client certificate is asked for (the default).
    #[default]
    NoClientCert,
    /// A certificate is optional; one that is sent must be signed by `client_ca_file`.
    VerifyClientCertIfGiven,
    /// Mutual TLS: a certificate signed by `client_ca_file` is required.
    RequireAndVerifyClientCert,
}

/// A TLS listener's certificate and client authentication (Tempo's `server.*_tls_config`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsServerConfig {
    /// PEM certificate chain served (leaf first). Empty: plain TCP.
    pub cert_file: String,
    /// PEM private key of the leaf certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
    /// Default `NoClientCert`.
    pub client_auth_type: ClientAuthType,
    /// PEM CA certificates client certificates are verified against; required unless
    /// `client_auth_type` is `NoClientCert`.
    pub client_ca_file: String,
}

impl TlsServerConfig {
    /// TLS is on (a certificate is configured).
    pub fn is_enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }

    /// Settings that cannot work; `at` names the block in the message.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        let any_set = !self.key_file.is_empty()
            || !self.client_ca_file.is_empty()
            || self.client_auth_type != ClientAuthType::NoClientCert;
        if !self.is_enabled() {
            return match any_set {
                true => Err(format!("{at}.cert_file must be set to enable TLS")),
                false => Ok(()),
            };
        }
        if self.key_file.is_empty() {
            return Err(format!("{at}.key_file must be set with cert_file"));
        }
        match (self.client_auth_type, self.client_ca_file.is_empty()) {
            (ClientAuthType::NoClientCert, false) => Err(format!(
                "{at}.client_ca_file is set but client_auth_type is NoClientCert"
            )),
            (ClientAuthType::NoClientCert, true) | (_, false) => Ok(()),
            (auth, true) => Err(format!(
                "{at}.client_auth_type {auth:?} needs client_ca_file"
            )),
        }
    }
}

/// A receiver's `tls` block (the OpenTelemetry Collector's server settings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiverTlsConfig {
    /// PEM certificate chain served. Empty: plain TCP.
    pub cert_file: String,
    /// PEM private key of the leaf certificate.
    pub key_file: String,
    /// PEM CA certificates; when set, clients must present a certificate signed by one.
    pub client_ca_file: String,
}

impl ReceiverTlsConfig {
    /// The same settings as a server block.
    pub fn to_server(&self) -> TlsServerConfig {
        TlsServerConfig {
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            client_auth_type: match self.client_ca_file.is_empty() {
                true => ClientAuthType::NoClientCert,
                false => ClientAuthType::RequireAndVerifyClientCert,
            },
            client_ca_file: self.client_ca_file.clone(),
        }
    }

    /// Whether the block is absent or empty (so it is left out when serialized).
    pub fn is_unset(&self) -> bool {
        self == &Self::default()
    }
}

/// The internal gRPC clients' TLS (dskit's `grpc_client_config` keys).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcClientTlsConfig {
    /// Dial the other roles over TLS. Default false.
    pub tls_enabled: bool,
    /// PEM client certificate chain presented to servers that ask (mutual TLS).
    pub tls_cert_path: String,
    /// PEM private key of `tls_cert_path`.
    pub tls_key_path: String,
    /// PEM CA certificates the servers' certificates are verified against. Required unless
    /// `tls_insecure_skip_verify`.
    pub tls_ca_path: String,
    /// Name the servers' certificates must carry; empty: the host of each member address.
    pub tls_server_name: String,
    /// Accept any server certificate (tests only: anyone on the path can read the traffic).
    pub tls_insecure_skip_verify: bool,
}

impl GrpcClientTlsConfig {
    /// Settings that cannot work; `at` names the block in the message.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        if !self.tls_enabled {
            return Ok(());
        }
        if self.tls_cert_path.is_empty() != self.tls_key_path.is_empty() {
            return Err(format!(
                "{at}.tls_cert_path and tls_key_path must be set together"
            ));
        }
        if self.tls_ca_path.is_empty() && !self.tls_insecure_skip_verify {
            return Err(format!(
                "{at}.tls_ca_path must be set (or tls_insecure_skip_verify) when tls_enabled"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_block_needs_its_files() {
        let at = "server.grpc_tls_config";
        assert!(TlsServerConfig::default().validate(at).is_ok());
        let only_key = TlsServerConfig {
            key_file: "k".into(),
            ..Default::default()
        };
        assert!(only_key.validate(at).unwrap_err().contains("cert_file"));
        let mut c = TlsServerConfig {
            cert_file: "c".into(),
            key_file: "k".into(),
            client_auth_type: ClientAuthType::RequireAndVerifyClientCert,
            ..Default::default()
        };
        let err = c.validate(at).unwrap_err();
        assert!(err.contains("client_ca_file") && err.contains(at), "{err}");
        c.client_ca_file = "ca".into();
        assert!(c.validate(at).is_ok());
        c.key_file.clear();
        assert!(c.validate(at).unwrap_err().contains("key_file"));
    }

    #[test]
    fn receiver_ca_means_mutual_tls() {
        let r = ReceiverTlsConfig {
            cert_file: "c".into(),
            key_file: "k".into(),
            client_ca_file: "ca".into(),
        };
        assert_eq!(
            r.to_server().client_auth_type,
            ClientAuthType::RequireAndVerifyClientCert
        );
        let r = ReceiverTlsConfig {
            client_ca_file: String::new(),
            ..r
        };
        assert_eq!(r.to_server().client_auth_type, ClientAuthType::NoClientCert);
    }

    #[test]
    fn client_block_needs_a_ca_or_skip_verify() {
        let at = "ingester_client.grpc_client_config";
        let mut c = GrpcClientTlsConfig {
            tls_enabled: true,
            ..Default::default()
        };
        assert!(c.validate(at).unwrap_err().contains("tls_ca_path"));
        c.tls_insecure_skip_verify = true;
        assert!(c.validate(at).is_ok());
        c.tls_cert_path = "c".into();
        assert!(c.validate(at).unwrap_err().contains("tls_key_path"));
    }

    #[test]
    fn tempo_keys_parse() {
        let yaml = "cert_file: /tls/tls.crt\nkey_file: /tls/tls.key\nclient_auth_type: RequireAndVerifyClientCert\nclient_ca_file: /tls/ca.crt\n";
        let c: TlsServerConfig = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(
            c.client_auth_type,
            ClientAuthType::RequireAndVerifyClientCert
        );
        let bad = "cert_file: a\nclient_auth_type: RequestClientCert\n";
        let err = serde_yaml_ng::from_str::<TlsServerConfig>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("RequestClientCert"), "{err}");
    }
}
