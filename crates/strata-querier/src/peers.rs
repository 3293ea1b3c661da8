//! The querier peers a search shares its jobs with (`querier.search.peers`), as the sender
//! sees them: who they are, whether each may be sent a job now, and sending one.
//!
//! * **Members**: a fixed list or a DNS name ([`Membership`], the rings' settings). This
//!   querier itself is never sent a job: the member equal to `self_address` (default: the
//!   listen address when it names a host) is left out, and a member that still turns out to
//!   be this process (its answer is 409 to our own instance ID, see [`crate::peer_wire`]) is
//!   left out from then on.
//! * **Down**: a peer that cannot be reached, or does not answer within `job_timeout`, is sent
//!   no job for `retry_after` (timed by the injected clock): a dead peer costs one failed job
//!   per `retry_after`, not one per search. A refusal (4xx/5xx) does not mark it down.
//! * **Transport**: each job is one HTTP request on its own connection, over HTTPS when this
//!   process serves its API over TLS (every querier runs the same configuration), verified
//!   with the internal clients' TLS settings (`ingester_client.grpc_client_config`, as the
//!   compactor's ring probe). Dropping the job (the search's early exit) closes the
//!   connection.
//!
//! A job that fails in any way is run by the sender instead ([`crate::search`]), so the
//! answer never depends on the peers.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::http::{header, HeaderMap, HeaderValue};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use prost::Message;
use strata_common::SharedClock;
use strata_config::QuerierPeersConfig;
use strata_proto::tempopb;
use strata_ring::Membership;
use strata_tls::ClientTls;
use tower::Service;

use crate::http::PROTOBUF;
use crate::peer_wire::{INSTANCE_HEADER, JOB_PATH};

/// Longest a connection to a peer may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Most of a refusal's body kept in the error.
const MESSAGE_BYTES: usize = 300;

/// The caller's credentials, forwarded to peers so they authorise a job like the search.
#[derive(Debug, Clone, Default)]
pub struct Forward {
    pub authorization: Option<HeaderValue>,
    pub org_id: Option<HeaderValue>,
}

impl Forward {
    /// `Authorization` and `X-Scope-OrgID` of a request.
    pub fn from_headers(h: &HeaderMap) -> Self {
        Self {
            authorization: h.get(header::AUTHORIZATION).cloned(),
            org_id: h.get("x-scope-orgid").cloned(),
        }
    }
}

/// Why a peer did not answer a job.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("refused with {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("it is this querier itself")]
    IsSelf,
    #[error("bad answer: {0}")]
    BadAnswer(String),
}

#[derive(Debug, Default)]
struct PeerState {
    down_until: Option<SystemTime>,
    is_self: bool,
}

/// The peers of this querier (see the module docs). Shared by every search.
#[derive(Debug)]
pub struct Peers {
    membership: Membership,
    self_address: Option<String>,
    instance: String,
    jobs_per_peer: usize,
    job_timeout: Duration,
    retry_after: Duration,
    tls: Option<ClientTls>,
    clock: SharedClock,
    state: Mutex<HashMap<String, PeerState>>,
}

/// `addr` in the form DNS members take (`ip:port`, IPv6 as `[ip]:port`), so that a
/// `self_address` of `${POD_IP}:3200` matches its member whatever the IP family; anything
/// else (a host name) as it is.
fn canonical(addr: &str) -> String {
    let addr = addr.trim();
    if let Ok(a) = addr.parse::<std::net::SocketAddr>() {
        return a.to_string();
    }
    // A bare IPv6 address followed by a port (`fd00::1:3200`).
    if let Some((ip, port)) = addr.rsplit_once(':') {
        if let (Ok(ip), Ok(port)) = (ip.parse::<std::net::Ipv6Addr>(), port.parse::<u16>()) {
            return std::net::SocketAddr::from((ip, port)).to_string();
        }
    }
    addr.to_string()
}

/// `self_address`, or the listen address when it names a host.
fn own_address(cfg: &QuerierPeersConfig, listen: &str) -> Option<String> {
    let explicit = cfg.self_address.trim();
    if !explicit.is_empty() {
        return Some(canonical(explicit));
    }
    let listen = listen.trim();
    let host = listen.rsplit_once(':').map_or("", |(h, _)| h);
    let unspecified = matches!(host, "" | "0.0.0.0" | "[::]" | "::" | "[::0]");
    (!unspecified).then(|| canonical(listen))
}

impl Peers {
    /// The peers `cfg` names, for a querier listening on `listen` whose instance ID is
    /// `instance`; jobs go over HTTPS with `tls` (none: plain HTTP).
    pub fn new(
        cfg: &QuerierPeersConfig,
        listen: &str,
        instance: String,
        tls: Option<ClientTls>,
        clock: SharedClock,
    ) -> Self {
        Self {
            membership: Membership::from_parts(&cfg.members, &cfg.dns, cfg.dns_refresh),
            self_address: own_address(cfg, listen),
            instance,
            jobs_per_peer: cfg.jobs_per_peer,
            job_timeout: cfg.job_timeout,
            retry_after: cfg.retry_after,
            tls,
            clock,
            state: Mutex::default(),
        }
    }

    /// The member list (to keep a DNS list fresh with [`Membership::run`]).
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Jobs of one search in flight on each peer.
    pub fn jobs_per_peer(&self) -> usize {
        self.jobs_per_peer
    }

    /// The members other than this querier, now.
    pub fn members(&self) -> Vec<String> {
        let mut m = self.membership.members();
        m.retain(|a| Some(&canonical(a)) != self.self_address.as_ref());
        m
    }

    /// Whether `addr` may be sent a job now (not this querier, not down).
    pub fn usable(&self, addr: &str) -> bool {
        let state = self.state.lock();
        match state.get(addr) {
            None => true,
            Some(s) => !s.is_self && s.down_until.is_none_or(|t| self.clock.now() >= t),
        }
    }

    /// Runs `job` (an encoded [`crate::peer_wire::PeerJobRequest`]) on `addr`: its answer, or
    /// why there is none (a peer unreachable or too slow is marked down).
    pub async fn run_job(
        &self,
        addr: &str,
        job: Bytes,
        forward: &Forward,
    ) -> Result<tempopb::SearchResponse, PeerError> {
        let result =
            match tokio::time::timeout(self.job_timeout, self.send(addr, job, forward)).await {
                Ok(r) => r,
                Err(_) => Err(PeerError::Timeout(self.job_timeout)),
            };
        match &result {
            Err(PeerError::Unreachable(_) | PeerError::Timeout(_)) => {
                let until = self.clock.now() + self.retry_after;
                self.state
                    .lock()
                    .entry(addr.to_string())
                    .or_default()
                    .down_until = Some(until);
            }
            Err(PeerError::IsSelf) => {
                tracing::warn!(
                    peer = addr,
                    "querier peer is this querier itself; set querier.search.peers.self_address"
                );
                self.state
                    .lock()
                    .entry(addr.to_string())
                    .or_default()
                    .is_self = true;
            }
            _ => {
                if let Some(s) = self.state.lock().get_mut(addr) {
                    s.down_until = None;
                }
            }
        }
        result
    }

    async fn send(
        &self,
        addr: &str,
        job: Bytes,
        forward: &Forward,
    ) -> Result<tempopb::SearchResponse, PeerError> {
        let unreachable = |e: &dyn std::fmt::Display| PeerError::Unreachable(e.to_string());
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let uri: http::Uri = format!("{scheme}://{addr}{JOB_PATH}")
            .parse()
            .map_err(|e| unreachable(&format!("address {addr:?}: {e}")))?;
        let mut req = http::Request::post(&uri)
            .header(header::HOST, addr)
            .header(header::CONTENT_TYPE, PROTOBUF)
            .header(INSTANCE_HEADER, &self.instance);
        if let Some(v) = &forward.authorization {
            req = req.header(header::AUTHORIZATION, v.clone());
        }
        if let Some(v) = &forward.org_id {
            req = req.header("x-scope-orgid", v.clone());
        }
        let req = req.body(Full::new(job)).map_err(|e| unreachable(&e))?;
        let (status, body) = match &self.tls {
            None => {
                let tcp =
                    tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
                        .await
                        .map_err(|_| unreachable(&"connect timed out"))?
                        .map_err(|e| unreachable(&e))?;
                let _ = tcp.set_nodelay(true);
                exchange(TokioIo::new(tcp), false, req).await?
            }
            Some(tls) => {
                let host = uri.host().unwrap_or_default();
                let mut connector = tls
                    .connector(host, CONNECT_TIMEOUT)
                    .map_err(|e| unreachable(&e))?;
                let io = connector
                    .call(uri.clone())
                    .await
                    .map_err(|e| unreachable(&e))?;
                let h2 = io.inner().get_ref().1.alpn_protocol() == Some(&b"h2"[..]);
                exchange(io, h2, req).await?
            }
        };
        match status {
            200 => tempopb::SearchResponse::decode(body)
                .map_err(|e| PeerError::BadAnswer(format!("decoding the answer: {e}"))),
            409 => Err(PeerError::IsSelf),
            status => Err(PeerError::Refused {
                status,
                message: String::from_utf8_lossy(&body[..body.len().min(MESSAGE_BYTES)])
                    .into_owned(),
            }),
        }
    }
}

/// Sends `req` over `io` (HTTP/2 when `h2`, else HTTP/1.1) and reads the whole answer. The
/// connection is driven here, not on a task of its own: dropping this closes it.
async fn exchange<I>(
    io: I,
    h2: bool,
    req: http::Request<Full<Bytes>>,
) -> Result<(u16, Bytes), PeerError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let failed = |e: hyper::Error| PeerError::Unreachable(e.to_string());
    if h2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(failed)?;
        race(read(send.send_request(req)), conn).await
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(failed)?;
        race(read(send.send_request(req)), conn).await
    }
}

/// The whole answer to a request sent (`resp`, the response's future).
async fn read(
    resp: impl std::future::Future<Output = Result<http::Response<hyper::body::Incoming>, hyper::Error>>,
) -> Result<(u16, Bytes), PeerError> {
    let resp = resp
        .await
        .map_err(|e| PeerError::BadAnswer(e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| PeerError::BadAnswer(e.to_string()))?
        .to_bytes();
    Ok((status, body))
}

/// `answer`, while driving its connection `conn`; a connection that ends first is an error.
async fn race<C: std::future::Future>(
    answer: impl std::future::Future<Output = Result<(u16, Bytes), PeerError>>,
    conn: C,
) -> Result<(u16, Bytes), PeerError> {
    tokio::select! {
        a = answer => a,
        _ = conn => Err(PeerError::BadAnswer("connection closed before the answer".into())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strata_common::ManualClock;

    use super::*;

    fn cfg(members: &[&str], self_address: &str) -> QuerierPeersConfig {
        QuerierPeersConfig {
            members: members.iter().map(|m| m.to_string()).collect(),
            self_address: self_address.into(),
            retry_after: Duration::from_secs(10),
            job_timeout: Duration::from_secs(5),
            ..Default::default()
        }
    }

    #[test]
    fn this_querier_is_not_its_own_peer() {
        let clock = Arc::new(ManualClock::default());
        let m = ["10.0.0.1:3200", "10.0.0.2:3200"];
        // Named explicitly.
        let p = Peers::new(
            &cfg(&m, "10.0.0.2:3200"),
            "0.0.0.0:3200",
            "i".into(),
            None,
            clock.clone(),
        );
        assert_eq!(p.members(), vec!["10.0.0.1:3200".to_string()]);
        // The listen address, when it names a host.
        let p = Peers::new(
            &cfg(&m, ""),
            "10.0.0.1:3200",
            "i".into(),
            None,
            clock.clone(),
        );
        assert_eq!(p.members(), vec!["10.0.0.2:3200".to_string()]);
        // An IPv6 pod IP written as `${POD_IP}:3200` is the DNS member `[ip]:3200`.
        let v6 = ["[fd00::1]:3200", "[fd00::2]:3200"];
        let p = Peers::new(
            &cfg(&v6, "fd00::2:3200"),
            "[::]:3200",
            "i".into(),
            None,
            clock.clone(),
        );
        assert_eq!(p.members(), vec!["[fd00::1]:3200".to_string()]);
        // An unspecified listen address names no member.
        for listen in ["0.0.0.0:3200", "[::]:3200", ":3200"] {
            let p = Peers::new(&cfg(&m, ""), listen, "i".into(), None, clock.clone());
            assert_eq!(p.members().len(), 2, "{listen}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_peer_is_down_for_retry_after() {
        // A port nothing listens on: bind, note it, close.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let clock = Arc::new(ManualClock::default());
        let p = Peers::new(
            &cfg(&[&addr], ""),
            "0.0.0.0:1",
            "i".into(),
            None,
            clock.clone(),
        );
        assert!(p.usable(&addr));
        let err = p
            .run_job(&addr, Bytes::new(), &Forward::default())
            .await
            .unwrap_err();
        assert!(matches!(err, PeerError::Unreachable(_)), "{err}");
        assert!(!p.usable(&addr));
        clock.advance(Duration::from_secs(9));
        assert!(!p.usable(&addr));
        clock.advance(Duration::from_secs(1));
        assert!(p.usable(&addr), "usable again after retry_after");
    }
}
