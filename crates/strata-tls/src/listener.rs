//! A bound listener, plain TCP or TLS, that axum and tonic serve from.
//!
//! Plain: connections are taken from the TCP listener as they are accepted. TLS: a task owned
//! by the listener accepts TCP connections and runs each handshake in its own task (bounded by
//! [`HANDSHAKE_TIMEOUT`]); finished handshakes queue for [`Listener::accept`]. A failed
//! handshake (a plaintext client, an unknown or missing client certificate) closes that
//! connection only. The task stops, and the port is released, when the listener is dropped.
//! Accepted sockets get TCP_NODELAY.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::{metrics, ServerTls, HANDSHAKE_TIMEOUT};

/// Handshaken connections waiting for `accept`.
const QUEUE: usize = 64;

/// A listener serving plain TCP or TLS (module docs).
#[derive(Debug)]
pub struct Listener {
    local: SocketAddr,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Plain(TcpListener),
    Tls(mpsc::Receiver<Conn>),
}

impl From<TcpListener> for Listener {
    fn from(tcp: TcpListener) -> Self {
        Self::new(tcp, None)
    }
}

impl Listener {
    /// Serves `tcp` over TLS with `tls`, or plain without. With TLS, call inside a tokio runtime.
    pub fn new(tcp: TcpListener, tls: Option<&ServerTls>) -> Self {
        let local = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let inner = match tls {
            None => Inner::Plain(tcp),
            Some(tls) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(handshakes(tcp, tls.acceptor(), tx));
                Inner::Tls(rx)
            }
        };
        Self { local, inner }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Whether connections are TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    /// The next connection (errors of single connections are handled here, never returned).
    pub async fn accept(&mut self) -> Conn {
        match &mut self.inner {
            Inner::Plain(tcp) => {
                let (stream, remote) = accept_tcp(tcp).await;
                Conn {
                    io: Io::Plain(stream),
                    local: self.local,
                    remote,
                }
            }
            Inner::Tls(rx) => match rx.recv().await {
                Some(conn) => conn,
                // The handshake task only ends when this receiver is gone.
                None => std::future::pending().await,
            },
        }
    }

    /// The connections as a stream, for tonic's `serve_with_incoming*`.
    pub fn into_incoming(self) -> impl Stream<Item = Result<Conn, io::Error>> + Send + 'static {
        futures::stream::unfold(self, |mut l| async move {
            let conn = l.accept().await;
            Some((Ok(conn), l))
        })
    }
}

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        let conn = Listener::accept(self).await;
        let remote = conn.remote;
        (conn, remote)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Accepts until it succeeds: errors of one connection are skipped, others (out of file
/// descriptors) are logged and retried after a pause.
async fn accept_tcp(tcp: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match tcp.accept().await {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                return (stream, remote);
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The TLS accept loop (module docs).
async fn handshakes(tcp: TcpListener, acceptor: TlsAcceptor, tx: mpsc::Sender<Conn>) {
    let local = tcp
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    loop {
        let (stream, remote) = tokio::select! {
            _ = tx.closed() => return,
            accepted = accept_tcp(&tcp) => accepted,
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let conn = Conn {
                        io: Io::Tls(Box::new(tls)),
                        local,
                        remote,
                    };
                    let _ = tx.send(conn).await;
                }
                Ok(Err(e)) => {
                    metrics::handshake_failed();
                    tracing::debug!(%remote, %local, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    metrics::handshake_failed();
                    tracing::debug!(%remote, %local, "TLS handshake timed out");
                }
            }
        });
    }
}

/// One accepted connection, plain or TLS.
#[derive(Debug)]
pub struct Conn {
    io: Io,
    local: SocketAddr,
    remote: SocketAddr,
}

#[derive(Debug)]
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        TcpConnectInfo {
            local_addr: Some(self.local),
            remote_addr: Some(self.remote),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }
}
