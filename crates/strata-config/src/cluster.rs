//! Settings of distributed mode: the internal gRPC server, the ingester client, the ring and its
//! membership, and the compactor.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How distributors and queriers call ingesters over gRPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngesterClientConfig {
    /// Deadline of one call (push, trace by ID, search, tags). Default `5s`.
    #[serde(with = "humantime_serde")]
    pub remote_timeout: Duration,
    /// Deadline for establishing a connection. Default `1s`.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Largest gRPC message sent or accepted, both ways. Default 64 MiB.
    pub max_message_bytes: usize,
    /// TLS of every internal gRPC client (to ingesters and to metrics-generators), under
    /// Tempo's key; off by default.
    pub grpc_client_config: crate::GrpcClientTlsConfig,
}

impl Default for IngesterClientConfig {
    fn default() -> Self {
        Self {
            remote_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            max_message_bytes: 64 * 1024 * 1024,
            grpc_client_config: Default::default(),
        }
    }
}

/// A consistent-hash ring of ingesters (or compactors) and how its members are found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingConfig {
    /// Copies of each trace; a push succeeds once ⌊RF/2⌋+1 owners have it in their WAL.
    /// Default 1 (one process); the distributed configurations use 3.
    pub replication_factor: usize,
    /// Virtual nodes per member on the hash ring. Default 128.
    pub virtual_nodes: usize,
    /// Fixed member addresses (`host:port` of each ingester's gRPC server). Empty in the
    /// all-in-one process, where the ring is the process itself.
    pub members: Vec<String>,
    /// A DNS name (`name:port`, e.g. a Kubernetes headless service) whose A/AAAA records are
    /// the members, re-resolved every `dns_refresh`. Used instead of `members` when set.
    pub dns: String,
    /// Default `15s`.
    #[serde(with = "humantime_serde")]
    pub dns_refresh: Duration,
    /// How often each member's readiness is checked; a member that fails is skipped until it
    /// answers again. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub heartbeat_period: Duration,
}

impl RingConfig {
    /// No members configured, neither a list nor a DNS name.
    pub fn is_unset(&self) -> bool {
        self.members.is_empty() && self.dns.is_empty()
    }
}

impl Default for RingConfig {
    fn default() -> Self {
        Self {
            replication_factor: 1,
            virtual_nodes: 128,
            members: Vec::new(),
            dns: String::new(),
            dns_refresh: Duration::from_secs(15),
            heartbeat_period: Duration::from_secs(5),
        }
    }
}

/// The compactor role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompactorConfig {
    /// How often the compactor looks for work and applies retention. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub compaction_cycle: Duration,
    /// Blocks are compacted together only within windows of this length (by block end time).
    /// Default `1h`.
    #[serde(with = "humantime_serde")]
    pub compaction_window: Duration,
    /// Most input blocks per job. Default 8.
    pub max_compaction_objects: usize,
    /// Most sorted runs a compaction's output may have. A job whose inputs share few traces
    /// (under a tenth of them) and have at most this many sorted runs together copies their
    /// encoded row groups into a block of format `strata-parquet-v5` (several runs) instead
    /// of merging their rows into one sorted run, at a fraction of the CPU; the next job over
    /// such blocks merges. 1: every job merges (blocks stay readable by builds without v5).
    /// Default 8.
    pub max_block_runs: usize,
    /// No output block is made larger than this many bytes of input. Default 100 GiB.
    pub max_block_bytes: u64,
    /// Blocks older than this are deleted, unless a tenant's override says otherwise.
    /// Default `14d` (336h).
    #[serde(with = "humantime_serde")]
    pub block_retention: Duration,
    /// Inputs of a compaction stay readable this long after being marked compacted, so queriers
    /// that have not yet seen the output never miss data. Default `1h`.
    #[serde(with = "humantime_serde")]
    pub compacted_block_retention: Duration,
    /// Compactors that share the work: each owns the (tenant, window) pairs the ring gives it.
    /// Empty `members` and `dns`: this compactor owns everything.
    pub ring: RingConfig,
    /// This compactor's own address as it appears in `ring` (e.g. its HTTP `host:port`).
    pub instance_addr: String,
    /// How much nicer than the serving threads the thread running compaction jobs is (added to
    /// the process's niceness, capped at 19), so that in `strata run` a saturated machine
    /// serves pushes and queries first. 0 = the same priority. Default 10.
    pub job_nice: u8,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        Self {
            compaction_cycle: Duration::from_secs(30),
            compaction_window: Duration::from_secs(3600),
            max_compaction_objects: 8,
            max_block_runs: 8,
            max_block_bytes: 100 * 1024 * 1024 * 1024,
            block_retention: Duration::from_secs(14 * 24 * 3600),
            compacted_block_retention: Duration::from_secs(3600),
            ring: RingConfig::default(),
            instance_addr: String::new(),
            job_nice: 10,
        }
    }
}
