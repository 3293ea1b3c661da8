//! Per-tenant limits: defaults in the main configuration, per-tenant values in a separate YAML
//! file that is re-read while running.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `overrides` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverridesConfig {
    /// Limits of every tenant without an entry in the per-tenant file.
    pub defaults: TenantLimits,
    /// A YAML file `overrides: { <tenant>: <limits> }`; a tenant's entry replaces the defaults
    /// field by field. Empty: no file.
    pub per_tenant_override_config: PathBuf,
    /// How often the per-tenant file is re-read. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub per_tenant_override_period: Duration,
}

impl Default for OverridesConfig {
    fn default() -> Self {
        Self {
            defaults: TenantLimits::default(),
            per_tenant_override_config: PathBuf::new(),
            per_tenant_override_period: Duration::from_secs(10),
        }
    }
}

/// One tenant's limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimits {
    pub ingestion: IngestionLimits,
    pub global: GlobalLimits,
    pub compaction: CompactionLimits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestionLimits {
    /// Sustained ingest rate per distributor, bytes/s of OTLP payload. Default 15 MB/s.
    pub rate_limit_bytes: u64,
    /// Largest burst above the rate, bytes. Default 20 MB.
    pub burst_size_bytes: u64,
    /// Live (not yet cut) traces per ingester. Default 10 000.
    pub max_traces_per_user: u64,
    /// Attribute keys and string values longer than this are truncated (and counted).
    /// 0 disables. Default 2048.
    pub max_attribute_bytes: usize,
}

impl Default for IngestionLimits {
    fn default() -> Self {
        Self {
            rate_limit_bytes: 15_000_000,
            burst_size_bytes: 20_000_000,
            max_traces_per_user: 10_000,
            max_attribute_bytes: 2048,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalLimits {
    /// Largest trace an ingester accepts, bytes of encoded spans; 0 disables. Default 5 000 000.
    pub max_bytes_per_trace: u64,
}

impl Default for GlobalLimits {
    fn default() -> Self {
        Self {
            max_bytes_per_trace: 5_000_000,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompactionLimits {
    /// Blocks older than this are deleted; unset uses `compactor.block_retention`.
    #[serde(with = "humantime_serde")]
    pub block_retention: Option<Duration>,
}
