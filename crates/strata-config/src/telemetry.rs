//! How Strata reports on itself: the log line format (`server.log_format`) and self-tracing
//! of the query path (`server.self_tracing`), whose spans go over OTLP/HTTP to any OTLP
//! receiver, Strata's own included.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `server.log_format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One `key=value` line per event (`ts=… level=info target=… msg="…" trace_id=…`).
    #[default]
    Logfmt,
    /// One JSON object per line with the same keys, for log stores such as Loki.
    Json,
}

/// `server.self_tracing`: spans of the query path (one trace per query request, its root
/// continuing the request's `traceparent` when there is one), exported over OTLP/HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelfTracingConfig {
    /// OTLP/HTTP base URL (`/v1/traces` is appended), e.g. `http://localhost:4318`. Empty (the
    /// default): no span is exported. Log lines carry trace IDs either way.
    pub endpoint: String,
    /// `service.name` of the exported spans. Default `strata`.
    pub service_name: String,
    /// `X-Scope-OrgID` sent with each export (for a multi-tenant receiver). Empty: none.
    pub tenant: String,
    /// Spans held waiting for export; past it new spans are dropped (and counted in the log).
    /// Default 4096.
    pub max_queue_spans: usize,
    /// How often queued spans are sent. Default 1s.
    #[serde(with = "humantime_serde")]
    pub export_interval: Duration,
    /// Timeout of one export request. Default 5s.
    #[serde(with = "humantime_serde")]
    pub export_timeout: Duration,
}

impl Default for SelfTracingConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            service_name: "strata".into(),
            tenant: String::new(),
            max_queue_spans: 4096,
            export_interval: Duration::from_secs(1),
            export_timeout: Duration::from_secs(5),
        }
    }
}

impl SelfTracingConfig {
    /// Whether spans are exported.
    pub fn enabled(&self) -> bool {
        !self.endpoint.is_empty()
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(format!(
                "server.self_tracing.endpoint must be an http:// or https:// URL, got {:?}",
                self.endpoint
            ));
        }
        if self.service_name.is_empty() {
            return Err("server.self_tracing.service_name must not be empty".into());
        }
        if self.max_queue_spans == 0 {
            return Err("server.self_tracing.max_queue_spans must be > 0".into());
        }
        if self.export_interval.is_zero() || self.export_timeout.is_zero() {
            return Err(
                "server.self_tracing.export_interval and export_timeout must be > 0".into(),
            );
        }
        Ok(())
    }
}
