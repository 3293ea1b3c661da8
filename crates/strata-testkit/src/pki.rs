//! Certificates for TLS tests, made with the `openssl` command at test time (never checked in).
//!
//! A [`Pki`] is a throwaway certificate authority in a directory: `ca.crt` / `ca.key`
//! (ECDSA P-256, valid two days). [`Pki::issue`] signs a leaf certificate usable by both
//! servers and clients (`serverAuth`, `clientAuth`) for `localhost` and `127.0.0.1`, written as
//! `<name>.crt` and `<name>.key` (PKCS#8 PEM). Panics when `openssl` fails: tests only.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A leaf certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A test certificate authority (module docs).
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
    ca: Issued,
}

impl Pki {
    /// A new CA whose files are `ca.crt`/`ca.key` under `dir` (a fresh CA each call, whatever
    /// `dir` holds).
    pub fn new(dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).expect("creating the PKI directory");
        let ca = Issued {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            path(&ca.key),
            "-out",
            path(&ca.cert),
        ]);
        Self {
            dir: dir.to_path_buf(),
            ca,
        }
    }

    /// The CA certificate (PEM).
    pub fn ca_cert(&self) -> &Path {
        &self.ca.cert
    }

    /// Signs a leaf certificate with common name `cn`, written as `<name>.crt`/`<name>.key`
    /// (replacing files of that name).
    pub fn issue(&self, name: &str, cn: &str) -> Issued {
        let out = Issued {
            cert: self.dir.join(format!("{name}.crt")),
            key: self.dir.join(format!("{name}.key")),
        };
        let csr = self.dir.join(format!("{name}.csr"));
        let ext = self.dir.join(format!("{name}.ext"));
        std::fs::write(
            &ext,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
             extendedKeyUsage=serverAuth,clientAuth\n\
             basicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\n",
        )
        .expect("writing the extensions file");
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            path(&out.key),
            "-out",
            path(&csr),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            path(&csr),
            "-CA",
            path(&self.ca.cert),
            "-CAkey",
            path(&self.ca.key),
            "-set_serial",
            &serial().to_string(),
            "-extfile",
            path(&ext),
            "-out",
            path(&out.cert),
        ]);
        out
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A serial number distinct between certificates of one test run.
fn serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (nanos >> 8) + NEXT.fetch_add(1, Ordering::Relaxed)
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("running openssl (needed by the TLS tests)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
