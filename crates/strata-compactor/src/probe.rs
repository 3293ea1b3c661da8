//! Readiness of a compactor ring member: `GET /ready` on its HTTP port, healthy on a 2xx
//! answer within the timeout.
//!
//! The scheme follows this process's own `server.http_tls_config` (every member of a ring
//! runs the same configuration): plain HTTP when it has no certificate, otherwise HTTPS,
//! verifying the member's certificate with the internal clients' TLS settings
//! (`ingester_client.grpc_client_config`: `tls_ca_path`, a client certificate for members
//! that require one, `tls_server_name`, `tls_insecure_skip_verify`). A member whose
//! certificate does not verify is unhealthy, like one that does not answer.
//!
//! Over TLS the request is HTTP/2 or HTTP/1.1, as the handshake's ALPN settled; each probe
//! makes its own connection (one every `heartbeat_period` per member).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioExecutor;
use strata_ring::Probe;
use strata_tls::ClientTls;
use tower::Service;

/// Probes members with `GET http(s)://<addr>/ready` (module docs).
#[derive(Debug, Clone)]
pub struct HttpReadyProbe {
    timeout: Duration,
    plain: reqwest::Client,
    tls: Option<ClientTls>,
}

impl HttpReadyProbe {
    /// A plain-HTTP probe, each probe bounded by `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let plain = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            timeout,
            plain,
            tls: None,
        }
    }

    /// Probes over HTTPS with `tls` (none: plain HTTP).
    pub fn with_tls(mut self, tls: Option<ClientTls>) -> Self {
        self.tls = tls;
        self
    }

    async fn probe_tls(&self, tls: &ClientTls, addr: &str) -> Result<bool, String> {
        let uri: http::Uri = format!("https://{addr}/ready")
            .parse()
            .map_err(|e| format!("{e}"))?;
        let host = uri.host().ok_or("no host")?;
        let mut connector = tls
            .connector(host, self.timeout)
            .map_err(|e| e.to_string())?;
        let io = connector
            .call(uri.clone())
            .await
            .map_err(|e| e.to_string())?;
        let h2 = io.inner().get_ref().1.alpn_protocol() == Some(&b"h2"[..]);
        let req = http::Request::get(&uri)
            .header(http::header::HOST, addr)
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let status = if h2 {
            let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            send.send_request(req)
                .await
                .map_err(|e| e.to_string())?
                .status()
        } else {
            let (mut send, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            send.send_request(req)
                .await
                .map_err(|e| e.to_string())?
                .status()
        };
        Ok(status.is_success())
    }
}

#[async_trait]
impl Probe for HttpReadyProbe {
    async fn probe(&self, addr: &str) -> bool {
        match &self.tls {
            None => match self.plain.get(format!("http://{addr}/ready")).send().await {
                Ok(r) => r.status().is_success(),
                Err(_) => false,
            },
            Some(tls) => {
                match tokio::time::timeout(self.timeout, self.probe_tls(tls, addr)).await {
                    Ok(Ok(ok)) => ok,
                    Ok(Err(e)) => {
                        tracing::debug!(member = addr, error = %e, "compactor ring probe failed");
                        false
                    }
                    Err(_) => false,
                }
            }
        }
    }
}
