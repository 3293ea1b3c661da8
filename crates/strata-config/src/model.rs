//! The configuration model. Defaults follow Tempo's where Tempo has one.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{
    CompactorConfig, IngesterClientConfig, MetricsGeneratorConfig, OverridesConfig, RingConfig,
};

// The storage section lives in its own file; re-exported from here so that `strata_config::*`
// keeps naming it.
#[path = "storage.rs"]
mod storage;
pub use storage::*;

/// The root of the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// When false (the default) every request belongs to tenant `single-tenant` and
    /// `X-Scope-OrgID` is ignored.
    pub multitenancy_enabled: bool,
    /// Tenant credentials on ingest and query (off by default; see `auth`).
    pub auth: crate::AuthConfig,
    pub server: ServerConfig,
    pub distributor: DistributorConfig,
    pub ingester: IngesterConfig,
    pub querier: QuerierConfig,
    pub storage: StorageConfig,
    /// How distributors and queriers reach ingesters (distributed mode).
    pub ingester_client: IngesterClientConfig,
    /// The ingester ring (distributed mode).
    pub ring: RingConfig,
    pub compactor: CompactorConfig,
    /// Per-tenant limits.
    pub overrides: OverridesConfig,
    /// Trace-derived metrics (span metrics), enabled per tenant by
    /// `overrides.*.metrics_generator.processors`.
    pub metrics_generator: MetricsGeneratorConfig,
}

/// The HTTP API server (query API, `/ready`, `/metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP API listens on. Default `0.0.0.0:3200`.
    pub http_listen_address: String,
    /// Address of the internal gRPC server (the ingester service, in distributed mode).
    /// Default `0.0.0.0:9095`.
    pub grpc_listen_address: String,
    /// Log filter (`error`, `warn`, `info`, `debug`, or a tracing directive). Default `info`.
    pub log_level: String,
    /// Log line format: `logfmt` (default) or `json`. Lines logged while serving a query
    /// carry its `trace_id`.
    pub log_format: crate::LogFormat,
    /// Traces of Strata's own query path, exported over OTLP (off by default).
    pub self_tracing: crate::SelfTracingConfig,
    /// TLS on `http_listen_address` (query API, `/ready`, `/metrics`); plain TCP by default.
    pub http_tls_config: crate::TlsServerConfig,
    /// TLS on `grpc_listen_address` (the internal gRPC server); plain TCP by default. With
    /// `client_auth_type: RequireAndVerifyClientCert`, mutual TLS between roles.
    pub grpc_tls_config: crate::TlsServerConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http_listen_address: "0.0.0.0:3200".into(),
            grpc_listen_address: "0.0.0.0:9095".into(),
            log_level: "info".into(),
            log_format: crate::LogFormat::default(),
            self_tracing: crate::SelfTracingConfig::default(),
            http_tls_config: crate::TlsServerConfig::default(),
            grpc_tls_config: crate::TlsServerConfig::default(),
        }
    }
}

/// Receivers and validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistributorConfig {
    pub receivers: ReceiversConfig,
    /// Largest accepted request, in bytes, after decompression; applies to OTLP/HTTP bodies and
    /// OTLP/gRPC messages. Default 20 MiB (the OpenTelemetry Collector's HTTP limit).
    pub max_request_bytes: usize,
}

impl Default for DistributorConfig {
    fn default() -> Self {
        Self {
            receivers: ReceiversConfig::default(),
            max_request_bytes: 20 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiversConfig {
    pub otlp: OtlpReceiverConfig,
    /// Zipkin (`POST /api/v1/spans`, `/api/v2/spans`). Absent: off; present (even empty, as
    /// `zipkin:` in Tempo's configs): on, at `0.0.0.0:9411` unless `endpoint` says otherwise.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::receivers::present"
    )]
    pub zipkin: Option<crate::ZipkinReceiverConfig>,
    /// Jaeger (`protocols.grpc`, `thrift_http`, `thrift_compact`, `thrift_binary`), Tempo's
    /// shape; each protocol is on when present. Absent: all off.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::receivers::present"
    )]
    pub jaeger: Option<crate::JaegerReceiverConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpReceiverConfig {
    /// OTLP/gRPC listen address; empty disables it. Default `0.0.0.0:4317`.
    pub grpc_endpoint: String,
    /// OTLP/HTTP listen address (`POST /v1/traces`); empty disables it. Default `0.0.0.0:4318`.
    pub http_endpoint: String,
    /// TLS on the OTLP/gRPC listener (`cert_file`, `key_file`, `client_ca_file`); off by default.
    #[serde(skip_serializing_if = "crate::ReceiverTlsConfig::is_unset")]
    pub grpc_tls: crate::ReceiverTlsConfig,
    /// TLS on the OTLP/HTTP listener; off by default.
    #[serde(skip_serializing_if = "crate::ReceiverTlsConfig::is_unset")]
    pub http_tls: crate::ReceiverTlsConfig,
}

impl Default for OtlpReceiverConfig {
    fn default() -> Self {
        Self {
            grpc_endpoint: "0.0.0.0:4317".into(),
            http_endpoint: "0.0.0.0:4318".into(),
            grpc_tls: Default::default(),
            http_tls: Default::default(),
        }
    }
}

/// WAL, live traces and block cutting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngesterConfig {
    pub wal: WalConfig,
    /// A trace with no new spans for this long moves from the live set to the head block. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub trace_idle_period: Duration,
    /// A trace that keeps receiving spans moves to the head block after this long anyway. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub trace_live_period: Duration,
    /// How often live traces and the head block are checked. Default `1s`.
    #[serde(with = "humantime_serde")]
    pub flush_check_period: Duration,
    /// The head block is cut into a block once its oldest trace is this old. Default `5m`.
    #[serde(with = "humantime_serde")]
    pub max_block_duration: Duration,
    /// The head block is cut once it holds this many bytes of encoded traces. Default 100 MiB.
    pub max_block_bytes: u64,
    /// Bound on the bytes of encoded traces in memory and not yet in a block (live set, head
    /// block and blocks being written). Past half of it pushes are admitted at about the rate
    /// the block writers drain (2.4× that rate at half, 1× at 85 %, 0.4× near the bound; until
    /// the rate is known, a growing fraction is refused), all refused at the bound (gRPC
    /// `RESOURCE_EXHAUSTED` with `RetryInfo`, HTTP 429 with `Retry-After`), so a load the
    /// block writers cannot keep up with is accepted at a steady rate instead of exhausting
    /// memory. The head block is also cut at an eighth of it when that is below
    /// `max_block_bytes`. Peak RSS of a saturated `strata run` measured at 2.2–4.03× this
    /// (docs/BENCHMARKS.md, documented bound 4.5×): size it at under a fifth of the ingester's
    /// memory. It also caps throughput, at about 0.75 × this ÷ 8 s (what is unflushed is the
    /// incoming rate times `trace_idle_period` plus a block write; docs/RELIABILITY.md).
    /// Default 1 GiB.
    pub max_unflushed_bytes: u64,
    /// How long a push may be held, waiting for the admission rate above to let it in (or,
    /// at the bound, for the block writers to release bytes), before it is refused. Clients
    /// with a bounded number of requests in flight (every OTLP exporter) are then slowed to
    /// the rate the ingester sustains instead of being refused and told to come back seconds
    /// later; only pushes that would wait longer, or arrive while a sixteenth of
    /// `max_unflushed_bytes` is already held, are refused. Keep it well below the clients'
    /// export timeout (5 s in the Collector, 10 s in the SDKs). `0s` refuses at once.
    /// Default `2s`.
    #[serde(with = "humantime_serde")]
    pub max_admission_wait: Duration,
    /// The rate the block writers are assumed to take bytes out of memory at until it has been
    /// measured (the first blocks are written several seconds after start), so that a load
    /// arriving at start is paced by the admission rate from the first second. Once measured,
    /// the measured rate counts. Below what the writers really do it only slows the first
    /// seconds; above it, the held bytes rise and the admission factor falls. 0: none; until
    /// the rate is measured, a growing fraction of pushes past half of `max_unflushed_bytes`
    /// is refused. Default 16 MiB/s.
    pub assumed_drain_bytes_per_second: u64,
    /// Bound on the bytes of pushes handed to the WAL and not yet durable. On a slow disk
    /// (fsync taking long) pushes queue here; past the bound they are refused like past
    /// `max_unflushed_bytes` (429 / `RESOURCE_EXHAUSTED` with a retry delay, counted), so a
    /// slow disk slows clients down instead of growing memory. A push is never refused while
    /// nothing is pending. Default 64 MiB.
    pub max_wal_pending_bytes: u64,
    /// Cut blocks written at the same time, each on its own blocking thread, while pushes
    /// keep being accepted. Default 2.
    pub concurrent_block_writers: usize,
    /// A flushed block stays queryable through the ingester this long, so queriers have time to see
    /// it in the object store. Default `15m`.
    #[serde(with = "humantime_serde")]
    pub complete_block_timeout: Duration,
    /// Cut and flush everything on a clean shutdown. Default true.
    pub flush_all_on_shutdown: bool,
    /// The tail-sampling decision store (policies are per tenant:
    /// `overrides.*.sampling.tail.policies`).
    pub tail_sampling: crate::TailSamplingStoreConfig,
}

impl Default for IngesterConfig {
    fn default() -> Self {
        Self {
            wal: WalConfig::default(),
            trace_idle_period: Duration::from_secs(5),
            trace_live_period: Duration::from_secs(30),
            flush_check_period: Duration::from_secs(1),
            max_block_duration: Duration::from_secs(5 * 60),
            max_block_bytes: 100 * 1024 * 1024,
            max_unflushed_bytes: 1024 * 1024 * 1024,
            max_admission_wait: Duration::from_secs(2),
            assumed_drain_bytes_per_second: 16 * 1024 * 1024,
            max_wal_pending_bytes: 64 * 1024 * 1024,
            concurrent_block_writers: 2,
            complete_block_timeout: Duration::from_secs(15 * 60),
            flush_all_on_shutdown: true,
            tail_sampling: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalConfig {
    /// Directory of WAL segment files. Default `./data/wal`.
    pub path: PathBuf,
    /// `always` (fsync before every acknowledgement; concurrent pushes share one fsync) or
    /// `never` (leave it to the OS: a machine crash can lose acknowledged spans). Default `always`.
    pub fsync: FsyncMode,
    /// A segment is closed and a new one started past this size. Default 128 MiB.
    pub segment_max_bytes: u64,
    /// Fault injection for tests: every WAL fsync first waits this long, as a slow disk
    /// would. Never set it in production. Default `0s`.
    #[serde(with = "humantime_serde")]
    pub inject_fsync_delay: Duration,
}

impl Default for WalConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./data/wal"),
            fsync: FsyncMode::Always,
            segment_max_bytes: 128 * 1024 * 1024,
            inject_fsync_delay: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncMode {
    Always,
    Never,
}

/// The query API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuerierConfig {
    /// Largest trace returned by trace-by-ID, in encoded bytes; v1 answers 422 past it, v2 a
    /// partial trace. Default 5 000 000 (Tempo's `max_bytes_per_trace`).
    pub max_bytes_per_trace: usize,
    /// Bytes of decoded Parquet footers and page indexes the querier keeps for the blocks it
    /// reads, least recently used evicted first (an evicted footer is read again when next
    /// needed). Default 268435456 (256 MiB); 0 keeps none.
    pub block_footer_cache_bytes: usize,
    /// How one search over blocks is split into jobs and run.
    pub search: QuerierSearchConfig,
}

impl Default for QuerierConfig {
    fn default() -> Self {
        Self {
            max_bytes_per_trace: 5_000_000,
            block_footer_cache_bytes: 256 << 20,
            search: QuerierSearchConfig::default(),
        }
    }
}

/// The jobs of one search (`querier.search`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuerierSearchConfig {
    /// Target bytes of block data per job: a block up to this size is one job, a bigger one
    /// is split into ranges of row groups of about this many compressed bytes (a row group
    /// is never split). Default 33554432 (32 MiB); 0 makes every block one job.
    pub target_bytes_per_job: u64,
    /// Jobs of one search run at once on a querier. Default 0: the number of cores.
    pub concurrent_jobs: usize,
    /// The other queriers a search received here shares its jobs with (empty, the default:
    /// none, every job runs here).
    pub peers: QuerierPeersConfig,
}

impl Default for QuerierSearchConfig {
    fn default() -> Self {
        Self {
            target_bytes_per_job: 32 << 20,
            concurrent_jobs: 0,
            peers: QuerierPeersConfig::default(),
        }
    }
}

/// The querier peers of a search (`querier.search.peers`): who they are (the rings' shape: a
/// fixed list or a DNS name), how many jobs each is sent at once, and how jobs run for peers
/// are bounded here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuerierPeersConfig {
    /// Fixed peer addresses (`host:port` of each querier's HTTP API). May include this
    /// querier itself (it is skipped, see `self_address`).
    pub members: Vec<String>,
    /// A DNS name (`name:port`, e.g. a Kubernetes headless Service of the queriers) whose
    /// A/AAAA records are the peers, re-resolved every `dns_refresh`. Used instead of
    /// `members` when set.
    pub dns: String,
    /// Default `15s`.
    #[serde(with = "humantime_serde")]
    pub dns_refresh: Duration,
    /// This querier's own `host:port` as its peers list it: that member is never sent a job.
    /// Default empty: `server.http_listen_address` when it names a host (not `0.0.0.0` or
    /// `[::]`). A member that turns out to be this process anyway refuses the job (409) and is
    /// skipped from then on.
    pub self_address: String,
    /// Jobs of one search in flight at once on each peer. Default 2.
    pub jobs_per_peer: usize,
    /// Longest a job sent to a peer may take before it runs here instead. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub job_timeout: Duration,
    /// A peer that could not be reached is sent no job for this long. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
    /// Jobs this querier runs for its peers at once (beyond that they are refused with 429 and
    /// run by the sender). Default 0: the number of cores.
    pub max_jobs_for_peers: usize,
}

impl QuerierPeersConfig {
    /// No peers configured, neither a list nor a DNS name.
    pub fn is_unset(&self) -> bool {
        self.members.iter().all(|m| m.trim().is_empty()) && self.dns.trim().is_empty()
    }

    /// Settings that cannot work, when peers are set.
    pub fn validate(&self) -> Result<(), String> {
        if self.is_unset() {
            return Ok(());
        }
        if self.jobs_per_peer == 0 {
            return Err("querier.search.peers.jobs_per_peer must be > 0 when peers are set".into());
        }
        if self.job_timeout.is_zero() {
            return Err("querier.search.peers.job_timeout must be > 0".into());
        }
        Ok(())
    }
}

impl Default for QuerierPeersConfig {
    fn default() -> Self {
        Self {
            members: Vec::new(),
            dns: String::new(),
            dns_refresh: Duration::from_secs(15),
            self_address: String::new(),
            jobs_per_peer: 2,
            job_timeout: Duration::from_secs(30),
            retry_after: Duration::from_secs(10),
            max_jobs_for_peers: 0,
        }
    }
}

/// How blocks are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockConfig {
    /// Spans per Parquet row group. Default 100 000.
    pub row_group_max_spans: usize,
    /// Target false-positive rate of the trace-ID bloom filter. Default 0.0001: a trace-by-ID
    /// lookup over 1,000 blocks then opens a block it does not need about once in ten lookups
    /// (at 0.01, ten blocks every lookup), for 19.2 bits per trace instead of 9.6
    /// (docs/BENCHMARKS.md, "Trace by ID"). Blocks written with another rate stay readable:
    /// each bloom object records its own size and probe count.
    pub bloom_false_positive: f64,
    /// zstd level for Parquet pages. Default 3.
    pub zstd_level: i32,
    /// Format of the blocks ingesters cut: `strata-parquet-v4` (default; each distinct
    /// resource once per block) or `strata-parquet-v3` (a resource on every span row; for a
    /// rolling upgrade while some queriers or compactors only read v3). Every format is
    /// read. Compaction writes v4 when every input is v4 and this says v4, else v3.
    pub format: String,
}

/// Values of [`BlockConfig::format`].
pub const BLOCK_FORMATS: &[&str] = &["strata-parquet-v3", "strata-parquet-v4"];

impl BlockConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !BLOCK_FORMATS.contains(&self.format.as_str()) {
            return Err(format!(
                "storage.block.format is {:?}; expected one of {}",
                self.format,
                BLOCK_FORMATS.join(", ")
            ));
        }
        Ok(())
    }
}

impl Default for BlockConfig {
    fn default() -> Self {
        Self {
            row_group_max_spans: 100_000,
            bloom_false_positive: 0.0001,
            zstd_level: 3,
            format: "strata-parquet-v4".to_string(),
        }
    }
}
