//! Strata's configuration: one typed, strict YAML document shared by every binary.
//!
//! * Every struct is `#[serde(deny_unknown_fields)]`: a misspelled key is an error that names it.
//! * Every field has a default, documented on the field; an empty file is a valid configuration.
//! * Durations are human-readable strings (`5s`, `30m`); sizes are plain byte counts.
//!
//! `config/single-binary.yaml` at the repository root spells out every default.

mod auth;
mod cluster;
mod env;
mod generator;
mod generator_output;
mod model;
mod overrides;
mod receivers;
mod secret;
mod tail_sampling;
mod telemetry;
mod tls;

pub use auth::*;
pub use cluster::*;
pub use generator::*;
pub use generator_output::*;
pub use model::*;
pub use overrides::*;
pub use receivers::{
    JaegerGrpcConfig, JaegerProtocols, JaegerReceiverConfig, JaegerThriftBinaryConfig,
    JaegerThriftCompactConfig, JaegerThriftHttpConfig, ZipkinReceiverConfig,
};
pub use secret::{Secret, REDACTED};
pub use tail_sampling::*;
pub use telemetry::{LogFormat, SelfTracingConfig};
pub use tls::{ClientAuthType, GrpcClientTlsConfig, ReceiverTlsConfig, TlsServerConfig};

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads and validates a YAML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with(path, false)
    }

    /// Loads and validates a YAML file; with `expand_env`, `${VAR}` references are first
    /// replaced from the process environment (see the `env` module for the syntax).
    pub fn load_with(path: &Path, expand_env: bool) -> Result<Self, ConfigError> {
        let mut text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if expand_env {
            text = env::expand(&text, |name| std::env::var(name).ok()).map_err(|message| {
                ConfigError::Parse {
                    path: path.display().to_string(),
                    message,
                }
            })?;
        }
        Self::from_yaml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Parse {
                path: "<inline>".into(),
                message: e.to_string(),
            })?
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Hard errors: settings that cannot work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.storage.validate().map_err(ConfigError::Invalid)?;
        self.server
            .self_tracing
            .validate()
            .map_err(ConfigError::Invalid)?;
        self.auth
            .validate(self.multitenancy_enabled)
            .map_err(ConfigError::Invalid)?;
        self.overrides
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.metrics_generator
            .validate()
            .map_err(ConfigError::Invalid)?;
        self.validate_tls().map_err(ConfigError::Invalid)?;
        if self.ring.replication_factor == 0 {
            return Err(ConfigError::Invalid(
                "ring.replication_factor must be >= 1".into(),
            ));
        }
        let ing = &self.ingester;
        ing.tail_sampling.validate().map_err(ConfigError::Invalid)?;
        // Queriers may read a tenant index up to this old, plus one poll, without a block an
        // ingester uploaded since; the ingester must serve its recent blocks at least that long
        // (also after a restart, from their local copies), or such a block is invisible.
        let index_window =
            self.storage.blocklist_poll_stale_tenant_index + self.storage.blocklist_poll;
        if ing.complete_block_timeout < index_window {
            return Err(ConfigError::Invalid(format!(
                "ingester.complete_block_timeout ({:?}) must be at least storage.blocklist_poll_stale_tenant_index + storage.blocklist_poll ({:?}): blocks written since the last tenant index would be invisible in between",
                ing.complete_block_timeout, index_window
            )));
        }
        if ing.trace_idle_period.is_zero() {
            return Err(ConfigError::Invalid(
                "ingester.trace_idle_period must be > 0".into(),
            ));
        }
        if ing.trace_live_period < ing.trace_idle_period {
            return Err(ConfigError::Invalid(
                "ingester.trace_live_period must be >= ingester.trace_idle_period".into(),
            ));
        }
        if ing.flush_check_period.is_zero() {
            return Err(ConfigError::Invalid(
                "ingester.flush_check_period must be > 0".into(),
            ));
        }
        if ing.concurrent_block_writers == 0 {
            return Err(ConfigError::Invalid(
                "ingester.concurrent_block_writers must be > 0".into(),
            ));
        }
        if ing.max_block_bytes == 0 {
            return Err(ConfigError::Invalid(
                "ingester.max_block_bytes must be > 0".into(),
            ));
        }
        if ing.wal.segment_max_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "ingester.wal.segment_max_bytes must be >= 1024".into(),
            ));
        }
        if self.storage.block.row_group_max_spans == 0 {
            return Err(ConfigError::Invalid(
                "storage.block.row_group_max_spans must be > 0".into(),
            ));
        }
        let fp = self.storage.block.bloom_false_positive;
        if !(fp > 0.0 && fp < 1.0) {
            return Err(ConfigError::Invalid(
                "storage.block.bloom_false_positive must be in (0, 1)".into(),
            ));
        }
        self.querier
            .search
            .peers
            .validate()
            .map_err(ConfigError::Invalid)?;
        if !self.querier.search.peers.is_unset()
            && self.server.http_tls_config.is_enabled()
            && !self.ingester_client.grpc_client_config.tls_enabled
        {
            return Err(ConfigError::Invalid(
                "querier.search.peers with server.http_tls_config sends jobs to peers over HTTPS: \
                 set ingester_client.grpc_client_config.tls_enabled (and tls_ca_path) to verify them"
                    .into(),
            ));
        }
        if self.distributor.max_request_bytes == 0 {
            return Err(ConfigError::Invalid(
                "distributor.max_request_bytes must be > 0".into(),
            ));
        }
        Ok(())
    }

    /// Every TLS block (the `tls` module): files named where they are needed.
    fn validate_tls(&self) -> Result<(), String> {
        self.server
            .http_tls_config
            .validate("server.http_tls_config")?;
        self.server
            .grpc_tls_config
            .validate("server.grpc_tls_config")?;
        self.ingester_client
            .grpc_client_config
            .validate("ingester_client.grpc_client_config")?;
        let r = &self.distributor.receivers;
        let mut receivers = vec![
            ("distributor.receivers.otlp.grpc_tls", &r.otlp.grpc_tls),
            ("distributor.receivers.otlp.http_tls", &r.otlp.http_tls),
        ];
        if let Some(z) = &r.zipkin {
            receivers.push(("distributor.receivers.zipkin.tls", &z.tls));
        }
        if let Some(j) = &r.jaeger {
            if let Some(g) = &j.protocols.grpc {
                receivers.push(("distributor.receivers.jaeger.protocols.grpc.tls", &g.tls));
            }
            if let Some(h) = &j.protocols.thrift_http {
                let at = "distributor.receivers.jaeger.protocols.thrift_http.tls";
                receivers.push((at, &h.tls));
            }
        }
        for (at, tls) in receivers {
            tls.to_server().validate(at)?;
        }
        Ok(())
    }

    /// The configuration as YAML, defaults included.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
