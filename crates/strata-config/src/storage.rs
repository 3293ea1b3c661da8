//! The `storage:` section: where blocks live and how the object-store client behaves.
//!
//! Key names follow Tempo's (`storage.trace.s3.bucket` there is `storage.s3.bucket` here).
//! Backend sections other than the selected one are ignored. [`StorageConfig::validate`]
//! names the missing field when the selected backend lacks a required setting.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{BlockConfig, Secret, REDACTED};

/// Where blocks live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `local` (a directory), `memory` (tests), `s3`, `gcs` or `azure`. Default `local`.
    pub backend: StorageBackend,
    pub local: LocalStorageConfig,
    pub s3: S3StorageConfig,
    pub gcs: GcsStorageConfig,
    pub azure: AzureStorageConfig,
    /// Key prefix for every object. Default empty.
    pub prefix: String,
    /// How often queriers re-read the block list. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub blocklist_poll: Duration,
    /// A tenant index (`<tenant>/index.json`, written by the compactor every cycle) older than
    /// this is ignored and the tenant's blocks are listed instead, so a stopped compactor
    /// never hides new blocks for long. Keep `ingester.complete_block_timeout` above this
    /// plus `blocklist_poll`. Tempo's key of the same name. Default `5m`.
    #[serde(with = "humantime_serde")]
    pub blocklist_poll_stale_tenant_index: Duration,
    /// Timeout of one HTTP request to a remote store (whole request, body included).
    /// Default `30s`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Timeout of establishing a connection to a remote store. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Retries of a failed idempotent request (5xx, timeouts, connection errors), with
    /// exponential backoff. `0` disables retries. Default 5.
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt. Default `2m`.
    #[serde(with = "humantime_serde")]
    pub retry_timeout: Duration,
    pub block: BlockConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            local: LocalStorageConfig::default(),
            s3: S3StorageConfig::default(),
            gcs: GcsStorageConfig::default(),
            azure: AzureStorageConfig::default(),
            prefix: String::new(),
            blocklist_poll: Duration::from_secs(30),
            blocklist_poll_stale_tenant_index: Duration::from_secs(5 * 60),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_retries: 5,
            retry_timeout: Duration::from_secs(120),
            block: BlockConfig::default(),
        }
    }
}

impl StorageConfig {
    /// Checks that the selected backend has what it needs. The message names the field.
    pub fn validate(&self) -> Result<(), String> {
        self.block.validate()?;
        fn required(value: &str, field: &str, backend: &str) -> Result<(), String> {
            if value.trim().is_empty() {
                Err(format!(
                    "storage.{field} is required when storage.backend is {backend}"
                ))
            } else {
                Ok(())
            }
        }
        fn no_placeholder(value: &Secret, field: &str) -> Result<(), String> {
            if value.is_redacted() {
                Err(format!(
                    "storage.{field} is the placeholder {REDACTED} from a config dump; set the real value"
                ))
            } else {
                Ok(())
            }
        }
        match self.backend {
            StorageBackend::Local | StorageBackend::Memory => {}
            StorageBackend::S3 => {
                required(&self.s3.bucket, "s3.bucket", "s3")?;
                if self.s3.access_key.is_empty() != self.s3.secret_key.is_empty() {
                    return Err(
                        "storage.s3.access_key and storage.s3.secret_key must be set together"
                            .into(),
                    );
                }
                no_placeholder(&self.s3.secret_key, "s3.secret_key")?;
                no_placeholder(&self.s3.session_token, "s3.session_token")?;
            }
            StorageBackend::Gcs => required(&self.gcs.bucket_name, "gcs.bucket_name", "gcs")?,
            StorageBackend::Azure => {
                required(&self.azure.container_name, "azure.container_name", "azure")?;
                if !self.azure.use_emulator {
                    required(
                        &self.azure.storage_account_name,
                        "azure.storage_account_name",
                        "azure",
                    )?;
                }
                no_placeholder(&self.azure.storage_account_key, "azure.storage_account_key")?;
            }
        }
        if self.blocklist_poll_stale_tenant_index.is_zero() {
            return Err("storage.blocklist_poll_stale_tenant_index must be > 0".into());
        }
        if self.request_timeout.is_zero() {
            return Err("storage.request_timeout must be > 0".into());
        }
        if self.connect_timeout.is_zero() {
            return Err("storage.connect_timeout must be > 0".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageBackend {
    Local,
    Memory,
    S3,
    Gcs,
    Azure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalStorageConfig {
    /// Root directory of the local object store. Default `./data/blocks`.
    pub path: PathBuf,
}

impl Default for LocalStorageConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./data/blocks"),
        }
    }
}

/// Amazon S3 or an S3-compatible store (MinIO, Ceph, moto, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3StorageConfig {
    /// Bucket name (required).
    pub bucket: String,
    /// Endpoint URL or `host:port` for S3-compatible stores (a bare host gets `https://`, or
    /// `http://` with `insecure`). Empty: AWS, or `AWS_ENDPOINT_URL` from the environment.
    pub endpoint: String,
    /// Region. Empty: `AWS_REGION`/`AWS_DEFAULT_REGION` from the environment, else `us-east-1`.
    pub region: String,
    /// Static credentials. Empty: the standard AWS environment variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, web identity,
    /// container or instance credentials).
    pub access_key: String,
    pub secret_key: Secret,
    pub session_token: Secret,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted style
    /// (`bucket.endpoint/key`). Most S3-compatible servers need this. Default false.
    pub forcepathstyle: bool,
    /// Allow plain HTTP to the endpoint. Default false.
    pub insecure: bool,
}

/// Google Cloud Storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcsStorageConfig {
    /// Bucket name (required).
    pub bucket_name: String,
    /// Base URL of the storage API, for emulators and private endpoints. Empty: Google's.
    /// When set, requests are sent unsigned unless `service_account_path` is also set.
    pub endpoint: String,
    /// Service-account JSON key file. Empty: `GOOGLE_SERVICE_ACCOUNT`/
    /// `GOOGLE_APPLICATION_CREDENTIALS` or the metadata server.
    pub service_account_path: String,
    /// Allow plain HTTP to the endpoint. Default false.
    pub insecure: bool,
}

/// Azure Blob Storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureStorageConfig {
    /// Container name (required).
    pub container_name: String,
    /// Storage account (required unless `use_emulator`).
    pub storage_account_name: String,
    /// Shared key. Empty: `AZURE_STORAGE_ACCESS_KEY` and the other `AZURE_*` credential
    /// variables from the environment (client secret, federated token, managed identity).
    pub storage_account_key: Secret,
    /// Blob endpoint URL, e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite.
    /// Empty: `https://<account>.blob.core.windows.net`.
    pub endpoint: String,
    /// Use Azurite's well-known development account and key (and plain HTTP). Default false.
    pub use_emulator: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn example(name: &str) -> StorageConfig {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/");
        let text = std::fs::read_to_string(format!("{path}{name}")).unwrap();
        let storage = Config::from_yaml(&text).unwrap().storage;
        storage.validate().unwrap();
        storage
    }

    #[test]
    fn example_configs_parse() {
        let s3 = example("storage-s3.yaml");
        assert_eq!(s3.backend, StorageBackend::S3);
        assert_eq!(s3.s3.bucket, "strata-traces");
        assert!(s3.s3.forcepathstyle && s3.s3.insecure);
        assert_eq!(s3.retry_timeout, Duration::from_secs(120));
        let gcs = example("storage-gcs.yaml");
        assert_eq!(gcs.backend, StorageBackend::Gcs);
        assert_eq!(gcs.gcs.bucket_name, "strata-traces");
        let azure = example("storage-azure.yaml");
        assert_eq!(azure.backend, StorageBackend::Azure);
        assert_eq!(azure.azure.storage_account_name, "mystorageaccount");
        // single-binary.yaml spells out the defaults
        let single = example("single-binary.yaml");
        assert_eq!(single, StorageConfig::default());
    }

    #[test]
    fn validation_names_the_missing_field() {
        let cases = [
            ("backend: s3\n", "storage.s3.bucket"),
            ("backend: gcs\n", "storage.gcs.bucket_name"),
            ("backend: azure\n", "storage.azure.container_name"),
            (
                "backend: azure\nazure:\n  container_name: c\n",
                "storage.azure.storage_account_name",
            ),
            (
                "backend: s3\ns3:\n  bucket: b\n  access_key: k\n",
                "storage.s3.secret_key",
            ),
            ("request_timeout: 0s\n", "storage.request_timeout"),
            (
                "blocklist_poll_stale_tenant_index: 0s\n",
                "storage.blocklist_poll_stale_tenant_index",
            ),
        ];
        for (yaml, field) in cases {
            let cfg: StorageConfig = serde_yaml_ng::from_str(yaml).unwrap();
            let err = cfg.validate().unwrap_err();
            assert!(err.contains(field), "{yaml}: {err}");
        }
        let emulator: StorageConfig = serde_yaml_ng::from_str(
            "backend: azure\nazure:\n  container_name: c\n  use_emulator: true\n",
        )
        .unwrap();
        emulator.validate().unwrap();
        assert!(serde_yaml_ng::from_str::<StorageConfig>("s3:\n  bukket: x\n").is_err());
    }

    #[test]
    fn credentials_never_appear_in_a_dump_or_debug_output() {
        let yaml = "storage:\n  backend: s3\n  s3:\n    bucket: b\n    access_key: AKIDEXAMPLE\n    secret_key: s3cr3t-value\n  azure:\n    storage_account_key: azur3-k3y\n";
        let config = Config::from_yaml(yaml).unwrap();
        assert_eq!(config.storage.s3.secret_key.expose(), "s3cr3t-value");
        for shown in [config.to_yaml(), format!("{config:?}")] {
            assert!(!shown.contains("s3cr3t-value"), "{shown}");
            assert!(!shown.contains("azur3-k3y"), "{shown}");
            assert!(shown.contains(REDACTED), "{shown}");
        }
        // A dump's placeholder is refused as a credential, naming the field.
        let err = Config::from_yaml(&config.to_yaml())
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage.s3.secret_key"), "{err}");
    }
}
