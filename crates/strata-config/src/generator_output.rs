//! Where the metrics-generator's series go and how distributors reach generators:
//! `metrics_generator.storage` (Prometheus remote write), `metrics_generator.ring` (the
//! generators, for distributors in distributed mode) and `metrics_generator.forwarder` (the
//! distributor's queue towards them).
//!
//! ```yaml
//! metrics_generator:
//!   registry:
//!     external_labels: {source: strata}
//!   storage:
//!     remote_write:
//!       - url: http://prometheus:9090/api/v1/write
//!         headers: {X-Scope-OrgID: team-a}
//!         send_exemplars: true
//!   ring:
//!     members: [generator-0:9095]        # or dns: generators:9095
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::RingConfig;

/// `metrics_generator.storage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorStorageConfig {
    /// Accepted for Tempo compatibility and unused: series live in memory (a restart starts
    /// counters from zero, which Prometheus' `rate()` treats as a counter reset).
    pub path: String,
    /// Prometheus remote-write endpoints; every collection is sent to each. Default none.
    pub remote_write: Vec<RemoteWriteConfig>,
    /// Sends each tenant's series with `X-Scope-OrgID: <tenant>` (Mimir, Cortex). A header
    /// of the same name in `remote_write[].headers` wins. Default `true`.
    pub remote_write_add_org_id_header: bool,
    /// The remote-write queue of each endpoint.
    pub queue: RemoteWriteQueueConfig,
}

impl Default for GeneratorStorageConfig {
    fn default() -> Self {
        Self {
            path: String::new(),
            remote_write: Vec::new(),
            remote_write_add_org_id_header: true,
            queue: RemoteWriteQueueConfig::default(),
        }
    }
}

/// One remote-write endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteConfig {
    /// E.g. `http://prometheus:9090/api/v1/write`. Required.
    pub url: String,
    /// Extra request headers (authentication, `X-Scope-OrgID`).
    pub headers: BTreeMap<String, String>,
    /// Sends histogram exemplars (trace and span IDs). Prometheus stores them only when
    /// started with `--enable-feature=exemplar-storage`. Default `true`.
    pub send_exemplars: bool,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            headers: BTreeMap::new(),
            send_exemplars: true,
        }
    }
}

/// `metrics_generator.storage.queue`: collections waiting to be sent to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteQueueConfig {
    /// Most samples waiting per endpoint. When a new collection would pass it, the oldest
    /// waiting collections are dropped (newer cumulative values supersede them) and their
    /// samples counted in `strata_metrics_generator_remote_write_samples_dropped_total`.
    /// Default 500000.
    pub max_samples: usize,
    /// Most samples in one request. Default 2000.
    pub max_samples_per_send: usize,
    /// First retry delay after a failed send (connection error, 5xx, 429); doubled per
    /// failure up to `max_backoff`. Default `100ms`.
    #[serde(with = "humantime_serde")]
    pub min_backoff: Duration,
    /// Default `10s`.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Deadline of one request. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub remote_timeout: Duration,
}

impl Default for RemoteWriteQueueConfig {
    fn default() -> Self {
        Self {
            max_samples: 500_000,
            max_samples_per_send: 2_000,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            remote_timeout: Duration::from_secs(30),
        }
    }
}

/// `metrics_generator.forwarder`: a distributor's queue towards the generators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorForwarderConfig {
    /// Pushes waiting to be sent; when full, new spans are not sent to the generators and are
    /// counted in `strata_distributor_metrics_generator_spans{result="queue_full"}` (ingest
    /// goes on).
    /// Default 1024.
    pub queue_size: usize,
    /// Pushes sent concurrently. Default 4.
    pub workers: usize,
    /// Deadline of one push to a generator. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub remote_timeout: Duration,
}

impl Default for GeneratorForwarderConfig {
    fn default() -> Self {
        Self {
            queue_size: 1024,
            workers: 4,
            remote_timeout: Duration::from_secs(5),
        }
    }
}

/// Validation of the sections of this module, as messages naming the key.
pub(crate) fn validate(
    storage: &GeneratorStorageConfig,
    ring: &RingConfig,
    fwd: &GeneratorForwarderConfig,
) -> Result<(), String> {
    for (i, rw) in storage.remote_write.iter().enumerate() {
        let ok = rw.url.starts_with("http://") || rw.url.starts_with("https://");
        if !ok {
            return Err(format!(
                "metrics_generator.storage.remote_write[{i}].url must be an http:// or https:// URL, got {:?}",
                rw.url
            ));
        }
        for name in rw.headers.keys() {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(format!(
                    "metrics_generator.storage.remote_write[{i}].headers: invalid header name {name:?}"
                ));
            }
        }
    }
    let q = &storage.queue;
    if q.max_samples == 0 || q.max_samples_per_send == 0 {
        return Err(
            "metrics_generator.storage.queue.max_samples and max_samples_per_send must be > 0"
                .into(),
        );
    }
    if q.min_backoff.is_zero() || q.max_backoff < q.min_backoff {
        return Err(
            "metrics_generator.storage.queue: min_backoff must be > 0 and <= max_backoff".into(),
        );
    }
    if q.remote_timeout.is_zero() {
        return Err("metrics_generator.storage.queue.remote_timeout must be > 0".into());
    }
    if ring.replication_factor != 1 {
        return Err(
            "metrics_generator.ring.replication_factor must be 1 (each trace goes to one generator)"
                .into(),
        );
    }
    if fwd.queue_size == 0 || fwd.workers == 0 || fwd.remote_timeout.is_zero() {
        return Err(
            "metrics_generator.forwarder: queue_size, workers and remote_timeout must be > 0"
                .into(),
        );
    }
    Ok(())
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus).
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !s.starts_with("__")
}
