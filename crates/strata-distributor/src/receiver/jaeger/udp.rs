//! The Jaeger agent's UDP ports: one Thrift message (`emitBatch`, or `emitZipkinBatch`) per
//! datagram, compact protocol on 6831 and binary on 6832.
//!
//! There is no acknowledgement: a datagram longer than `max_packet_size`, one that does not
//! decode, and one the pipeline refuses are dropped and counted in
//! `strata_distributor_udp_datagrams_dropped_total{receiver,reason}` (`too_large`,
//! `decode_error`, `refused`); the pipeline also counts refused spans as usual. Up to
//! [`MAX_IN_FLIGHT`] datagrams are pushed at once; beyond that the receiver stops reading
//! and the kernel's socket buffer absorbs (or drops) the excess.

use std::sync::Arc;

use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_server::auth::Edge;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::thrift::{agent_message, AgentMessage};
use super::to_otlp;
use crate::receiver::thrift as t;
use crate::receiver::zipkin;
use crate::Distributor;

/// Datagrams pushed concurrently per port.
pub const MAX_IN_FLIGHT: usize = 64;

/// Which Thrift protocol a port speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Compact,
    Binary,
}

impl Protocol {
    /// The `receiver` label and push protocol name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Compact => "jaeger_thrift_compact",
            Protocol::Binary => "jaeger_thrift_binary",
        }
    }
}

/// Decodes one datagram and translates it.
pub fn decode(protocol: Protocol, datagram: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    let message = match protocol {
        Protocol::Compact => agent_message(&mut t::compact(datagram)),
        Protocol::Binary => agent_message(&mut t::binary(datagram)),
    }
    .map_err(|e| e.to_string())?;
    Ok(match message {
        AgentMessage::Batch(b) => to_otlp::to_request(vec![b]),
        AgentMessage::Zipkin(spans) => zipkin::to_otlp::to_request(zipkin::v1::convert_all(spans)),
    })
}

/// Serves one agent port on `socket` until `stop` fires.
pub async fn serve(
    distributor: Distributor,
    socket: UdpSocket,
    protocol: Protocol,
    max_packet_size: usize,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let receiver = protocol.name();
    // One byte more than allowed: a datagram that fills it was too large (and truncated).
    let mut buf = vec![0u8; max_packet_size + 1];
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let metrics = distributor.metrics().clone();
    loop {
        let n = tokio::select! {
            _ = stop.cancelled() => break,
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, _)) => n,
                Err(e) => {
                    // E.g. ICMP errors surfaced by the OS; pause briefly so a persistent error
                    // cannot spin the loop.
                    tracing::warn!(receiver, error = %e, "udp receive failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        if n > max_packet_size {
            metrics.udp_dropped(receiver, "too_large");
            continue;
        }
        let request = match decode(protocol, &buf[..n]) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(receiver, error = %e, "undecodable datagram");
                metrics.udp_dropped(receiver, "decode_error");
                continue;
            }
        };
        let permit = tokio::select! {
            _ = stop.cancelled() => break,
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let d = distributor.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            // No header can carry a tenant (or a credential) over UDP: the gate decides on none.
            let no_headers = axum::http::HeaderMap::new();
            let result = match d
                .tenants()
                .resolve(&no_headers, Edge::Ingest, receiver)
                .await
            {
                Ok(tenant) => d.receive(tenant, request, Some(n), receiver).await,
                Err(refusal) => Err(refusal.to_api_error(Edge::Ingest)),
            };
            if let Err(e) = result {
                tracing::debug!(receiver, error = %e, "datagram refused");
                metrics.udp_dropped(receiver, "refused");
            }
            drop(permit);
        });
    }
    // Let in-flight pushes finish.
    let _ = permits.acquire_many(MAX_IN_FLIGHT as u32).await;
    Ok(())
}
