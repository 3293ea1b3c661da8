//! Per-tenant limits: defaults in the main configuration, per-tenant values in a separate YAML
//! file that is re-read while running.
//!
//! # The per-tenant file (`overrides.per_tenant_override_config`)
//!
//! ```yaml
//! overrides:
//!   "tenant-a":
//!     ingestion:
//!       rate_limit_bytes: 1000000
//!     global:
//!       max_bytes_per_trace: 100000
//!   "*":                      # optional: tenants without an entry of their own
//!     ingestion:
//!       max_traces_per_user: 5000
//! ```
//!
//! * Strict: an unknown key anywhere (top level, section or field) is an error naming it, and a
//!   tenant key must be a valid tenant ID (or `*`).
//! * A tenant's entry replaces the configured `overrides.defaults` **field by field**: fields it
//!   does not name keep the configured default (not the compiled default). The entry is merged
//!   over the defaults as YAML, then parsed as a whole [`TenantLimits`].
//! * `*` applies to every tenant without its own entry (itself merged over the defaults); a
//!   tenant with an entry does not inherit from `*`.
//! * An empty file, or one without `overrides`, means no per-tenant values.
//! * A tenant's entry may also hold `auth: { credentials: [...] }` (see `crate::auth`): kept
//!   apart from the limits, never merged with defaults, and refused under `*`.
//!
//! This module only parses; re-reading the file on a timer is the server's job
//! (`strata-server::overrides`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_yaml_ng::{Mapping, Value};
use strata_common::TenantId;

use crate::GeneratorLimits;

/// The tenant key of the per-tenant file that applies to tenants without an entry.
pub const WILDCARD_TENANT: &str = "*";

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
    pub sampling: SamplingLimits,
    /// Trace-derived metrics: processors run on the tenant's spans, its series limit.
    pub metrics_generator: GeneratorLimits,
    /// TraceQL metrics queries (`/api/metrics/query_range`, `/api/metrics/query`).
    pub query_metrics: QueryMetricsLimits,
    /// Every query API request: concurrency and time, per querier.
    pub read: ReadLimits,
}

/// Work isolation on the query API, per tenant and per querier process: one tenant's heavy
/// queries wait for (or are refused) its own slots, never another tenant's, and a query that
/// would read too many block bytes is cut short with a `PARTIAL` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadLimits {
    /// Queries of the tenant served at once; more wait for a slot (within `query_timeout`),
    /// then get 429 naming this key. Default 20; 0 means no limit.
    pub max_concurrent_queries: u32,
    /// Longest a query may take, waiting for a slot included; past it the answer is 504 naming
    /// this key and the work is dropped. Default `1m`; `0s` means no limit.
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
    /// Bytes of blocks (each block's `data.parquet` size from its `meta.json`) one search,
    /// TraceQL metrics query or tag request of the tenant may read on a querier. Blocks are
    /// taken newest first; the first block that would pass the budget and every older one are
    /// skipped, and the answer is `PARTIAL` with a message naming this key, the bytes read and
    /// the blocks skipped. Recent data (ingesters) is not counted. Default 0: no limit (Tempo
    /// has no such bound).
    pub max_block_bytes_per_query: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_concurrent_queries: 20,
            query_timeout: Duration::from_secs(60),
            max_block_bytes_per_query: 0,
        }
    }
}

impl TenantLimits {
    /// Values that cannot work, as a message naming the key.
    pub fn validate(&self) -> Result<(), String> {
        let r = self.sampling.head_ratio;
        if !(0.0..=1.0).contains(&r) {
            return Err(format!(
                "sampling.head_ratio must be between 0 and 1, got {r}"
            ));
        }
        self.sampling.tail.validate()?;
        self.metrics_generator.validate()
    }
}

/// Sampling in the distributor, after every span has been handed to trace-derived metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingLimits {
    /// Fraction of traces kept by consistent head sampling, decided from the trace ID alone
    /// (OpenTelemetry consistent probability sampling). 1 keeps everything, 0 nothing.
    /// Default 1.
    pub head_ratio: f64,
    /// Tail sampling of whole traces in the ingester (see [`TailSamplingLimits`]).
    pub tail: crate::TailSamplingLimits,
}

impl Default for SamplingLimits {
    fn default() -> Self {
        Self {
            head_ratio: 1.0,
            tail: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestionLimits {
    /// Sustained ingest rate per distributor, bytes/s of OTLP payload (protobuf-encoded size).
    /// 0 disables the rate limit. Default 15 MB/s.
    pub rate_limit_bytes: u64,
    /// Token-bucket capacity, bytes: the most a tenant can send at once after being idle; a
    /// request bigger than this is always refused. Default 20 MB.
    pub burst_size_bytes: u64,
    /// Live traces (still receiving spans) per tenant per ingester; 0 disables. Default 10 000.
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
    /// Largest trace an ingester accepts, bytes of encoded spans held for it (live and head
    /// block, i.e. not yet cut into a block); 0 disables. Default 5 000 000.
    pub max_bytes_per_trace: u64,
}

impl Default for GlobalLimits {
    fn default() -> Self {
        Self {
            max_bytes_per_trace: 5_000_000,
        }
    }
}

/// Bounds of one TraceQL metrics query (Tempo's query-frontend `metrics` defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryMetricsLimits {
    /// Longest `[start, end]`. Default `24h`.
    #[serde(with = "humantime_serde")]
    pub max_duration: Duration,
    /// Most steps (`(end - start) / step`). Default 10 000.
    pub max_intervals: u64,
    /// Most series in an answer; more make it `PARTIAL`. Default 1 000; 0 means no limit.
    pub max_series: u32,
    /// Most exemplars per series (`exemplars` is capped to it). Default 100.
    pub max_exemplars: u32,
}

impl Default for QueryMetricsLimits {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(24 * 3600),
            max_intervals: 10_000,
            max_series: 1000,
            max_exemplars: 100,
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

/// Errors reading or parsing the per-tenant file.
#[derive(Debug, thiserror::Error)]
pub enum OverridesError {
    #[error("reading per-tenant overrides {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("per-tenant overrides: {0}")]
    Parse(String),
    #[error("per-tenant overrides: tenant {tenant:?}: {message}")]
    Tenant { tenant: String, message: String },
    #[error("overrides: {0}")]
    Invalid(String),
}

/// The per-tenant file, parsed and merged over the defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerTenantLimits {
    /// The `*` entry, if any.
    pub wildcard: Option<TenantLimits>,
    /// Every named tenant's complete limits.
    pub tenants: BTreeMap<TenantId, TenantLimits>,
    /// Credentials of tenants whose entry has an `auth` key.
    pub auth: BTreeMap<TenantId, crate::TenantAuth>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PerTenantFile {
    #[serde(default)]
    overrides: Option<BTreeMap<String, Value>>,
}

impl OverridesConfig {
    /// Settings that cannot work.
    pub fn validate(&self) -> Result<(), OverridesError> {
        if !self.per_tenant_override_config.as_os_str().is_empty()
            && self.per_tenant_override_period.is_zero()
        {
            return Err(OverridesError::Invalid(
                "per_tenant_override_period must be > 0".into(),
            ));
        }
        self.defaults
            .validate()
            .map_err(|e| OverridesError::Invalid(format!("defaults.{e}")))
    }

    /// Whether a per-tenant file is configured.
    pub fn has_per_tenant_file(&self) -> bool {
        !self.per_tenant_override_config.as_os_str().is_empty()
    }

    /// Reads and parses the per-tenant file; no file configured gives no per-tenant values.
    pub fn load_per_tenant(&self) -> Result<PerTenantLimits, OverridesError> {
        if !self.has_per_tenant_file() {
            return Ok(PerTenantLimits::default());
        }
        let path: &Path = &self.per_tenant_override_config;
        let text = std::fs::read_to_string(path).map_err(|source| OverridesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        self.parse_per_tenant(&text)
    }

    /// Parses the text of a per-tenant file (format in the module docs).
    pub fn parse_per_tenant(&self, text: &str) -> Result<PerTenantLimits, OverridesError> {
        let mut out = PerTenantLimits::default();
        if text.trim().is_empty() {
            return Ok(out);
        }
        let file: PerTenantFile =
            serde_yaml_ng::from_str(text).map_err(|e| OverridesError::Parse(e.to_string()))?;
        let defaults = serde_yaml_ng::to_value(&self.defaults)
            .map_err(|e| OverridesError::Invalid(format!("encoding defaults: {e}")))?;
        for (name, entry) in file.overrides.unwrap_or_default() {
            let bad = |message: String| OverridesError::Tenant {
                tenant: name.clone(),
                message,
            };
            let (entry, auth) = split_auth(entry).map_err(bad)?;
            let limits = merged(&defaults, entry).map_err(bad)?;
            if name == WILDCARD_TENANT {
                if auth.is_some() {
                    return Err(bad("auth is not allowed under \"*\"".into()));
                }
                out.wildcard = Some(limits);
            } else {
                let id = TenantId::new(&name).map_err(|e| bad(e.to_string()))?;
                if let Some(auth) = auth {
                    out.auth.insert(id.clone(), auth);
                }
                out.tenants.insert(id, limits);
            }
        }
        Ok(out)
    }
}

/// The entry without its `auth` key, and that key parsed and validated.
fn split_auth(entry: Value) -> Result<(Value, Option<crate::TenantAuth>), String> {
    let Value::Mapping(mut m) = entry else {
        return Ok((entry, None));
    };
    let Some(auth) = m.remove("auth") else {
        return Ok((Value::Mapping(m), None));
    };
    let auth: crate::TenantAuth =
        serde_yaml_ng::from_value(auth).map_err(|e| format!("auth: {e}"))?;
    auth.validate()?;
    Ok((Value::Mapping(m), Some(auth)))
}

/// `entry` merged over `defaults` (mappings key by key, anything else replaced), then parsed.
fn merged(defaults: &Value, entry: Value) -> Result<TenantLimits, String> {
    let mut v = defaults.clone();
    let entry = match entry {
        Value::Null => Value::Mapping(Mapping::new()),
        Value::Mapping(m) => Value::Mapping(m),
        _ => return Err("an entry must be a mapping of sections".into()),
    };
    merge(&mut v, entry);
    let limits: TenantLimits = serde_yaml_ng::from_value(v).map_err(|e| e.to_string())?;
    limits.validate()?;
    Ok(limits)
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, ov) in o {
                match b.get_mut(&k) {
                    Some(bv @ Value::Mapping(_)) if ov.is_mapping() => merge(bv, ov),
                    _ => {
                        b.insert(k, ov);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OverridesConfig {
        let mut c = OverridesConfig::default();
        c.defaults.ingestion.rate_limit_bytes = 777;
        c.defaults.global.max_bytes_per_trace = 999;
        c
    }

    fn tenant(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    #[test]
    fn head_ratios_outside_0_to_1_are_refused_naming_the_key() {
        let mut c = cfg();
        c.defaults.sampling.head_ratio = 1.5;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("defaults.sampling.head_ratio"), "{e}");
        let e = cfg()
            .parse_per_tenant("overrides:\n  t:\n    sampling:\n      head_ratio: -0.1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sampling.head_ratio must be between 0 and 1"),
            "{e}"
        );
        let ok = cfg()
            .parse_per_tenant("overrides:\n  t:\n    sampling:\n      head_ratio: 0.1\n")
            .unwrap();
        assert_eq!(ok.tenants[&tenant("t")].sampling.head_ratio, 0.1);
        assert_eq!(TenantLimits::default().sampling.head_ratio, 1.0);
    }

    #[test]
    fn generator_processors_are_per_tenant_and_unknown_names_refused() {
        let mut c = cfg();
        c.defaults.metrics_generator.processors = vec!["span-metrics".into()];
        assert!(c.validate().is_ok());
        let p = c
            .parse_per_tenant(
                "overrides:\n  t:\n    metrics_generator:\n      processors: [span-metrics, service-graphs]\n      max_active_series: 10\n",
            )
            .unwrap();
        let g = &p.tenants[&tenant("t")].metrics_generator;
        assert!(g.has("span-metrics") && g.has("service-graphs"));
        assert_eq!(g.max_active_series, Some(10));
        assert_eq!(g.processor.span_metrics.dimensions, None);
        let p = c
            .parse_per_tenant("overrides:\n  t:\n    metrics_generator:\n      processor:\n        span_metrics:\n          dimensions: [http.method]\n")
            .unwrap();
        let g = &p.tenants[&tenant("t")].metrics_generator;
        assert_eq!(
            g.processor.span_metrics.dimensions,
            Some(vec!["http.method".to_string()])
        );
        // The configured default processors still apply.
        assert!(g.has("span-metrics"));
        let e = c
            .parse_per_tenant(
                "overrides:\n  t:\n    metrics_generator:\n      processors: [spanmetrics]\n",
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("metrics_generator.processors") && e.contains("spanmetrics"),
            "{e}"
        );
        c.defaults.metrics_generator.processors = vec!["nope".into()];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("defaults.metrics_generator.processors"), "{e}");
        assert!(TenantLimits::default()
            .metrics_generator
            .processors
            .is_empty());
    }

    #[test]
    fn entry_replaces_configured_defaults_field_by_field() {
        let text = r#"
overrides:
  a:
    ingestion:
      burst_size_bytes: 10
  "*":
    global:
      max_bytes_per_trace: 5
"#;
        let p = cfg().parse_per_tenant(text).unwrap();
        let a = &p.tenants[&tenant("a")];
        assert_eq!(a.ingestion.burst_size_bytes, 10);
        // Unnamed fields keep the configured (not compiled) defaults.
        assert_eq!(a.ingestion.rate_limit_bytes, 777);
        assert_eq!(a.global.max_bytes_per_trace, 999);
        assert_eq!(a.ingestion.max_attribute_bytes, 2048);
        let w = p.wildcard.as_ref().unwrap();
        assert_eq!(w.global.max_bytes_per_trace, 5);
        assert_eq!(w.ingestion.rate_limit_bytes, 777);
    }

    #[test]
    fn empty_files_and_empty_entries() {
        assert_eq!(
            cfg().parse_per_tenant("  \n").unwrap(),
            PerTenantLimits::default()
        );
        assert_eq!(
            cfg().parse_per_tenant("overrides: {}").unwrap(),
            PerTenantLimits::default()
        );
        let p = cfg().parse_per_tenant("overrides:\n  b:\n").unwrap();
        assert_eq!(p.tenants[&tenant("b")], cfg().defaults);
        let retention = "overrides:\n  c:\n    compaction:\n      block_retention: 2h\n";
        let p = cfg().parse_per_tenant(retention).unwrap();
        assert_eq!(
            p.tenants[&tenant("c")].compaction.block_retention,
            Some(Duration::from_secs(7200))
        );
    }

    #[test]
    fn strict_about_keys_and_tenants() {
        let c = cfg();
        let err = |t: &str| c.parse_per_tenant(t).unwrap_err().to_string();
        assert!(
            err("overides: {}").contains("overides"),
            "{}",
            err("overides: {}")
        );
        let e = err("overrides:\n  a:\n    ingestion:\n      rate_limit_byte: 1\n");
        assert!(e.contains("rate_limit_byte") && e.contains("\"a\""), "{e}");
        let e = err("overrides:\n  a:\n    ingest: {}\n");
        assert!(e.contains("ingest"), "{e}");
        let e = err("overrides:\n  a/b:\n    ingestion: {}\n");
        assert!(e.contains("a/b"), "{e}");
        let e = err("overrides:\n  a:\n    ingestion:\n      rate_limit_bytes: lots\n");
        assert!(
            e.contains("rate_limit_bytes") || e.contains("invalid"),
            "{e}"
        );
        let e = err("overrides:\n  a: 3\n");
        assert!(e.contains("mapping"), "{e}");
    }

    #[test]
    fn loads_from_file_and_validates_period() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.yaml");
        let mut c = cfg();
        assert_eq!(c.load_per_tenant().unwrap(), PerTenantLimits::default());
        c.per_tenant_override_config = path.clone();
        assert!(matches!(
            c.load_per_tenant(),
            Err(OverridesError::Read { .. })
        ));
        std::fs::write(
            &path,
            "overrides:\n  a:\n    global:\n      max_bytes_per_trace: 1\n",
        )
        .unwrap();
        let p = c.load_per_tenant().unwrap();
        assert_eq!(p.tenants[&tenant("a")].global.max_bytes_per_trace, 1);
        assert!(c.validate().is_ok());
        c.per_tenant_override_period = Duration::ZERO;
        assert!(c.validate().is_err());
    }

    #[test]
    fn tenant_credentials_are_kept_apart_and_refused_under_the_wildcard() {
        let token = "ab".repeat(32);
        let p = cfg()
            .parse_per_tenant(&format!(
                "overrides:\n  t:\n    auth:\n      credentials:\n        - token_sha256: {token}\n    global:\n      max_bytes_per_trace: 5\n"
            ))
            .unwrap();
        assert_eq!(p.tenants[&tenant("t")].global.max_bytes_per_trace, 5);
        let creds = &p.auth[&tenant("t")].credentials;
        assert_eq!(creds.len(), 1);
        assert_eq!(creds[0].token_sha256.expose(), token);
        let e = cfg()
            .parse_per_tenant(&format!(
                "overrides:\n  \"*\":\n    auth:\n      credentials:\n        - token_sha256: {token}\n"
            ))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not allowed under"), "{e}");
        let e = cfg()
            .parse_per_tenant(&format!(
                "overrides:\n  t:\n    auth:\n      credentials:\n        - token_sha256: {token}\n          tenants: [u]\n"
            ))
            .unwrap_err()
            .to_string();
        assert!(e.contains("tenants is not allowed"), "{e}");
        let e = cfg()
            .parse_per_tenant("overrides:\n  t:\n    auth:\n      tokens: []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tokens"), "{e}");
    }
}
