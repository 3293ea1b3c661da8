//! The Zipkin and Jaeger receivers of `distributor.receivers`, in Tempo's shape (the
//! OpenTelemetry Collector's receiver settings): a receiver or protocol is on when its key is
//! present, even with no value (`zipkin:`), and off when absent; an empty `endpoint` also
//! turns it off. The TCP ones take a `tls` block (`ReceiverTlsConfig`).

use serde::{Deserialize, Deserializer, Serialize};

use crate::ReceiverTlsConfig;

/// Deserializes a present key into `Some`, treating a null value (`zipkin:`) as the defaults.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

/// `distributor.receivers.zipkin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZipkinReceiverConfig {
    /// Listen address (HTTP); empty disables. Default `0.0.0.0:9411`.
    pub endpoint: String,
    /// TLS on the listener; off by default.
    #[serde(skip_serializing_if = "ReceiverTlsConfig::is_unset")]
    pub tls: ReceiverTlsConfig,
}

impl Default for ZipkinReceiverConfig {
    fn default() -> Self {
        Self {
            endpoint: "0.0.0.0:9411".into(),
            tls: ReceiverTlsConfig::default(),
        }
    }
}

/// `distributor.receivers.jaeger`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JaegerReceiverConfig {
    pub protocols: JaegerProtocols,
}

/// `distributor.receivers.jaeger.protocols`: each on when present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JaegerProtocols {
    /// gRPC `jaeger.api_v2.CollectorService/PostSpans`; default endpoint `0.0.0.0:14250`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub grpc: Option<JaegerGrpcConfig>,
    /// Thrift over HTTP, `POST /api/traces`; default endpoint `0.0.0.0:14268`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub thrift_http: Option<JaegerThriftHttpConfig>,
    /// The agent's UDP port for compact Thrift `emitBatch`; default endpoint `0.0.0.0:6831`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub thrift_compact: Option<JaegerThriftCompactConfig>,
    /// The agent's UDP port for binary Thrift `emitBatch`; default endpoint `0.0.0.0:6832`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub thrift_binary: Option<JaegerThriftBinaryConfig>,
}

/// A TCP protocol's settings.
macro_rules! tcp_protocol {
    ($name:ident, $port:literal) => {
        #[doc = concat!("A Jaeger TCP protocol's settings (default port ", $port, ").")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// Listen address; empty disables.
            pub endpoint: String,
            /// TLS on the listener; off by default.
            #[serde(skip_serializing_if = "ReceiverTlsConfig::is_unset")]
            pub tls: ReceiverTlsConfig,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    endpoint: concat!("0.0.0.0:", $port).into(),
                    tls: ReceiverTlsConfig::default(),
                }
            }
        }
    };
}

/// A UDP protocol's settings.
macro_rules! udp_protocol {
    ($name:ident, $port:literal) => {
        #[doc = concat!("A Jaeger agent UDP protocol's settings (default port ", $port, ").")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// Listen address; empty disables.
            pub endpoint: String,
            /// Largest datagram accepted, in bytes; longer ones are dropped and counted.
            /// Default 65000 (the Jaeger agent's and the OpenTelemetry Collector's).
            pub max_packet_size: usize,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    endpoint: concat!("0.0.0.0:", $port).into(),
                    max_packet_size: 65_000,
                }
            }
        }
    };
}

tcp_protocol!(JaegerGrpcConfig, 14250);
tcp_protocol!(JaegerThriftHttpConfig, 14268);
udp_protocol!(JaegerThriftCompactConfig, 6831);
udp_protocol!(JaegerThriftBinaryConfig, 6832);
