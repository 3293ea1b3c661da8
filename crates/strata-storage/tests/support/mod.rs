//! Test servers for the object-store backends, started on loopback per test:
//!
//! * S3: `moto_server` (Python, `moto[server]`), from `STRATA_MOTO_SERVER` or
//!   `target/tools/moto/bin/moto_server`;
//! * Azure Blob: `azurite-blob` (npm `azurite`), from `STRATA_AZURITE_BLOB` or
//!   `target/tools/azurite/node_modules/.bin/azurite-blob`;
//! * GCS: no GCS emulator installable here works with `object_store`'s GCS client (see
//!   docs/STORAGE.md). That client speaks GCS's XML API, which is S3's wire protocol with
//!   `x-goog-*` headers, so GCS tests run the real GCS client against `moto_server` — a real
//!   S3 server, NOT a GCS server. GCS-only behaviour (e.g. `x-goog-copy-source` copies) is
//!   not covered.
//!
//! `make test-deps` installs the servers. A missing server fails the test (never skipped).
//! Each server is killed when its [`TestServer`] is dropped. Shared by
//! `crates/strata-block/tests/backends.rs` through `#[path]`.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use strata_config::{StorageBackend, StorageConfig};

/// A server process on loopback, killed on drop.
pub struct TestServer {
    child: Child,
    pub port: u16,
    pub name: &'static str,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A configured backend and the server behind it (none for local).
pub struct Backend {
    pub name: &'static str,
    pub config: StorageConfig,
    pub server: Option<TestServer>,
    _dir: Option<tempfile::TempDir>,
}

fn workspace_root() -> PathBuf {
    // The nearest ancestor of the crate using this module that holds Cargo.lock.
    let start = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .find(|d| d.join("Cargo.lock").exists())
        .unwrap_or(&start)
        .to_path_buf()
}

/// The server binary from `var` or its install path under target/tools; panics (failing the
/// test) with the install hint when it is missing.
fn server_binary(var: &str, relative: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/tools").join(relative));
    assert!(
        path.exists(),
        "test server {} not found (set {var} or run `make test-deps`)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn spawn(name: &'static str, mut cmd: Command, port: u16) -> TestServer {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e} (run `make test-deps`)"));
    let mut server = TestServer { child, port, name };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{name} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{name} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `moto_server` on a free port.
pub async fn moto() -> TestServer {
    let bin = server_binary("STRATA_MOTO_SERVER", "moto/bin/moto_server");
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let server = spawn("moto_server", cmd, port);
    // Listening is not serving yet: poll until it answers a request.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(server.url()).send().await.is_err() {
        assert!(Instant::now() < deadline, "moto_server does not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

/// Starts Azurite's blob service on a free port, keeping blobs in memory.
pub async fn azurite() -> TestServer {
    azurite_at(None, free_port())
}

/// Starts Azurite's blob service on `port`, keeping blobs in `location` (so a restarted server
/// has them) or in memory.
pub fn azurite_at(location: Option<&std::path::Path>, port: u16) -> TestServer {
    let bin = server_binary(
        "STRATA_AZURITE_BLOB",
        "azurite/node_modules/.bin/azurite-blob",
    );
    let mut cmd = Command::new(bin);
    cmd.args(["--silent", "--skipApiVersionCheck"]);
    match location {
        Some(dir) => cmd.arg("--location").arg(dir),
        None => cmd.arg("--inMemoryPersistence"),
    };
    cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()]);
    spawn("azurite-blob", cmd, port)
}

/// A bucket name unique within the test process. Letters and digits only: the GCS client
/// percent-encodes every other character, which moto does not decode in bucket names.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..12])
}

/// Creates an S3 bucket on moto (moto takes unsigned requests).
pub async fn create_bucket(server: &TestServer, bucket: &str) {
    let resp = reqwest::Client::new()
        .put(format!("{}/{bucket}", server.url()))
        .send()
        .await
        .expect("create bucket");
    assert!(resp.status().is_success(), "create bucket: {resp:?}");
}

/// Creates a blob container on Azurite, signed with the development account's shared key.
pub async fn create_container(server: &TestServer, container: &str) {
    let account = strata_storage::AZURITE_ACCOUNT;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let version = "2021-08-06";
    // Shared Key string-to-sign: verb, 11 empty standard headers, x-ms-* headers, resource.
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n\
         /{account}/{account}/{container}\nrestype:container"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(strata_storage::AZURITE_ACCOUNT_KEY)
        .expect("key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(to_sign.as_bytes());
    let signature = b64.encode(mac.finalize().into_bytes());
    let resp = reqwest::Client::new()
        .put(format!(
            "{}/{account}/{container}?restype=container",
            server.url()
        ))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header("Content-Length", "0")
        .header("Authorization", format!("SharedKey {account}:{signature}"))
        .send()
        .await
        .expect("create container");
    assert!(resp.status().is_success(), "create container: {resp:?}");
}

fn base_config(backend: StorageBackend) -> StorageConfig {
    StorageConfig {
        backend,
        // Fail fast on a broken server instead of retrying for minutes.
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
        ..StorageConfig::default()
    }
}

impl Backend {
    /// A local directory.
    pub fn local() -> Backend {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = base_config(StorageBackend::Local);
        config.local.path = dir.path().join("blocks");
        Backend {
            name: "local",
            config,
            server: None,
            _dir: Some(dir),
        }
    }

    /// S3 on moto, with static keys, path-style and plain HTTP.
    pub async fn s3() -> Backend {
        let server = moto().await;
        let bucket = unique_name("strata");
        create_bucket(&server, &bucket).await;
        let mut config = base_config(StorageBackend::S3);
        config.s3.bucket = bucket;
        config.s3.endpoint = format!("127.0.0.1:{}", server.port);
        config.s3.region = "us-east-1".into();
        config.s3.access_key = "testing".into();
        config.s3.secret_key = "testing".into();
        config.s3.forcepathstyle = true;
        config.s3.insecure = true;
        Backend {
            name: "s3",
            config,
            server: Some(server),
            _dir: None,
        }
    }

    /// Azure Blob on Azurite, through an explicit endpoint with the development account.
    pub async fn azure() -> Backend {
        let server = azurite().await;
        let container = unique_name("strata");
        create_container(&server, &container).await;
        let mut config = base_config(StorageBackend::Azure);
        config.azure.container_name = container;
        config.azure.use_emulator = true;
        config.azure.endpoint = format!("{}/{}", server.url(), strata_storage::AZURITE_ACCOUNT);
        Backend {
            name: "azure",
            config,
            server: Some(server),
            _dir: None,
        }
    }

    /// GCS client (unsigned, plain HTTP) against moto's S3 API — see the module docs.
    pub async fn gcs() -> Backend {
        let server = moto().await;
        let bucket = unique_name("strata");
        create_bucket(&server, &bucket).await;
        let mut config = base_config(StorageBackend::Gcs);
        config.gcs.bucket_name = bucket;
        config.gcs.endpoint = server.url();
        config.gcs.insecure = true;
        Backend {
            name: "gcs",
            config,
            server: Some(server),
            _dir: None,
        }
    }
}
