//! Builds an object store from [`StorageConfig`]: the backend (with the configured timeouts
//! and retries), wrapped in the key prefix, wrapped in an [`InstrumentedStore`].
//!
//! Which metrics the store reports into is the caller's choice: [`build_instrumented`] takes a
//! [`StoreMetrics`] (created with [`StoreMetrics::new`] to export them from a registry);
//! [`build_store`] uses unregistered metrics.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use strata_config::{
    AzureStorageConfig, GcsStorageConfig, S3StorageConfig, StorageBackend, StorageConfig,
};

use crate::{InstrumentedStore, SharedStore, StoreMetrics};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("creating local storage directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid storage config: {0}")]
    InvalidConfig(String),
    #[error(transparent)]
    ObjectStore(#[from] object_store::Error),
    #[error("bad object key {0}")]
    BadKey(String),
}

/// Azurite's well-known development account (public, documented by Microsoft).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development account key (public, documented by Microsoft).
pub const AZURITE_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The bearer token sent to a GCS `endpoint` with `insecure` and no service account.
const EMULATOR_BEARER_TOKEN: &str = "strata-emulator";

/// Builds the configured store with metrics that no registry exports. Prefer
/// [`build_instrumented`] in binaries.
pub fn build_store(cfg: &StorageConfig) -> Result<SharedStore, StorageError> {
    Ok(build_instrumented(cfg, StoreMetrics::unregistered())?)
}

/// Builds the configured backend, wrapped in the configured key prefix and in an
/// [`InstrumentedStore`] reporting into `metrics`.
pub fn build_instrumented(
    cfg: &StorageConfig,
    metrics: StoreMetrics,
) -> Result<Arc<InstrumentedStore>, StorageError> {
    cfg.validate().map_err(StorageError::InvalidConfig)?;
    let base: Arc<dyn ObjectStore> = match cfg.backend {
        StorageBackend::Local => {
            let path = &cfg.local.path;
            std::fs::create_dir_all(path).map_err(|source| StorageError::CreateDir {
                path: path.display().to_string(),
                source,
            })?;
            Arc::new(LocalFileSystem::new_with_prefix(path)?)
        }
        StorageBackend::Memory => Arc::new(InMemory::new()),
        StorageBackend::S3 => Arc::new(s3(&cfg.s3, cfg)?),
        StorageBackend::Gcs => Arc::new(gcs(&cfg.gcs, cfg)?),
        StorageBackend::Azure => Arc::new(azure(&cfg.azure, cfg)?),
    };
    let prefixed = match key_prefix(cfg) {
        None => base,
        Some(prefix) => Arc::new(PrefixStore::new(base, prefix)),
    };
    Ok(Arc::new(InstrumentedStore::new(prefixed, metrics)))
}

/// The configured key prefix (`storage.prefix`) without its outer slashes; `None` when empty.
pub(crate) fn key_prefix(cfg: &StorageConfig) -> Option<&str> {
    Some(cfg.prefix.trim_matches('/')).filter(|p| !p.is_empty())
}

/// HTTP client settings shared by the remote backends.
fn client_options(cfg: &StorageConfig, allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_timeout(cfg.request_timeout)
        .with_connect_timeout(cfg.connect_timeout)
        .with_allow_http(allow_http)
}

/// Exponential backoff (100 ms doubling up to 15 s) for idempotent requests that failed with
/// a server error, a timeout or a connection error.
fn retry_config(cfg: &StorageConfig) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: cfg.max_retries,
        retry_timeout: cfg.retry_timeout,
    }
}

/// `host:port` becomes `https://host:port` (`http://` when `insecure`); URLs are kept.
fn endpoint_url(endpoint: &str, insecure: bool) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.contains("://") {
        endpoint.to_string()
    } else if insecure {
        format!("http://{endpoint}")
    } else {
        format!("https://{endpoint}")
    }
}

fn s3(
    c: &S3StorageConfig,
    cfg: &StorageConfig,
) -> Result<object_store::aws::AmazonS3, StorageError> {
    // Environment first (credentials, region, endpoint), then explicit settings on top.
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&c.bucket)
        .with_client_options(client_options(cfg, c.insecure))
        .with_retry(retry_config(cfg))
        .with_virtual_hosted_style_request(!c.forcepathstyle);
    if c.insecure {
        b = b.with_allow_http(true);
    }
    if !c.endpoint.is_empty() {
        b = b.with_endpoint(endpoint_url(&c.endpoint, c.insecure));
    }
    if !c.region.is_empty() {
        b = b.with_region(&c.region);
    }
    if !c.access_key.is_empty() {
        // Explicit keys replace the environment's (and its session token) entirely.
        let credential = object_store::aws::AwsCredential {
            key_id: c.access_key.clone(),
            secret_key: c.secret_key.expose().to_string(),
            token: non_empty(c.session_token.expose()).map(str::to_string),
        };
        b = b.with_credentials(Arc::new(object_store::StaticCredentialProvider::new(
            credential,
        )));
    }
    Ok(b.build()?)
}

fn gcs(
    c: &GcsStorageConfig,
    cfg: &StorageConfig,
) -> Result<object_store::gcp::GoogleCloudStorage, StorageError> {
    let mut b = GoogleCloudStorageBuilder::from_env()
        .with_bucket_name(&c.bucket_name)
        .with_client_options(client_options(cfg, c.insecure))
        .with_retry(retry_config(cfg));
    if !c.service_account_path.is_empty() {
        b = b.with_service_account_path(&c.service_account_path);
    }
    if !c.endpoint.is_empty() {
        b = b.with_base_url(&endpoint_url(&c.endpoint, c.insecure));
        // An emulator on plain HTTP gets a placeholder bearer token instead of OAuth.
        // (`with_skip_signature` is not enough in object_store 0.14: uploads still fetch a
        // token from the metadata server.)
        if c.insecure && c.service_account_path.is_empty() {
            b = b.with_bearer_token(EMULATOR_BEARER_TOKEN);
        }
    }
    Ok(b.build()?)
}

fn azure(
    c: &AzureStorageConfig,
    cfg: &StorageConfig,
) -> Result<object_store::azure::MicrosoftAzure, StorageError> {
    let mut b = MicrosoftAzureBuilder::from_env()
        .with_container_name(&c.container_name)
        .with_client_options(client_options(cfg, c.use_emulator))
        .with_retry(retry_config(cfg));
    if c.use_emulator && !c.endpoint.is_empty() {
        // object_store's emulator mode only reads its address from AZURITE_BLOB_STORAGE_URL;
        // with an explicit endpoint (`http://host:port/<account>`), talk to Azurite as to any
        // account at that URL, with the development account's key unless another is given.
        let account = non_empty(&c.storage_account_name).unwrap_or(AZURITE_ACCOUNT);
        let key = non_empty(c.storage_account_key.expose()).unwrap_or(AZURITE_ACCOUNT_KEY);
        b = b
            .with_account(account)
            .with_access_key(key)
            .with_endpoint(endpoint_url(&c.endpoint, true))
            .with_allow_http(true);
        return Ok(b.build()?);
    }
    if c.use_emulator {
        b = b.with_use_emulator(true);
    }
    if !c.storage_account_name.is_empty() {
        b = b.with_account(&c.storage_account_name);
    }
    if !c.storage_account_key.is_empty() {
        b = b.with_access_key(c.storage_account_key.expose());
    }
    if !c.endpoint.is_empty() {
        b = b.with_endpoint(endpoint_url(&c.endpoint, false));
    }
    Ok(b.build()?)
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.trim().is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        assert_eq!(endpoint_url("minio:9000", true), "http://minio:9000");
        assert_eq!(
            endpoint_url("s3.example.com", false),
            "https://s3.example.com"
        );
        assert_eq!(
            endpoint_url("http://127.0.0.1:1/", false),
            "http://127.0.0.1:1"
        );
    }

    #[test]
    fn missing_bucket_is_named() {
        let cfg = StorageConfig {
            backend: StorageBackend::S3,
            ..StorageConfig::default()
        };
        let err = build_store(&cfg).unwrap_err().to_string();
        assert!(err.contains("storage.s3.bucket"), "{err}");
        let cfg = StorageConfig {
            backend: StorageBackend::Gcs,
            ..StorageConfig::default()
        };
        let err = build_store(&cfg).unwrap_err().to_string();
        assert!(err.contains("storage.gcs.bucket_name"), "{err}");
        let cfg = StorageConfig {
            backend: StorageBackend::Azure,
            ..StorageConfig::default()
        };
        let err = build_store(&cfg).unwrap_err().to_string();
        assert!(err.contains("storage.azure.container_name"), "{err}");
    }
}
