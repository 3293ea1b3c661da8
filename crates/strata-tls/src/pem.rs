//! Reading PEM files: certificate chains, private keys (PKCS#8, PKCS#1 or SEC1) and CA bundles.
//! Every error names the file.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;

use crate::TlsError;

fn invalid(path: &Path, message: impl Into<String>) -> TlsError {
    TlsError::Invalid {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Every certificate of a PEM file, in order; at least one.
pub(crate) fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(path, format!("invalid PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(
            path,
            "no PEM certificate (BEGIN CERTIFICATE) found",
        ));
    }
    Ok(certs)
}

/// The first private key of a PEM file.
pub(crate) fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| invalid(path, format!("no usable PEM private key: {e}")))
}

/// A certificate chain with its key, checked to belong together.
pub(crate) fn certified_key(cert: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = certs(cert)?;
    let der = key(key_path)?;
    let provider = crate::provider::provider();
    let signing = provider
        .key_provider
        .load_private_key(der)
        .map_err(|e| invalid(key_path, format!("unsupported private key: {e}")))?;
    let ck = CertifiedKey::new(chain, signing);
    match ck.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(ck),
        Err(e) => Err(invalid(
            cert,
            format!(
                "does not match the private key in {}: {e}",
                key_path.display()
            ),
        )),
    }
}

/// The CA certificates of a PEM bundle as trust anchors.
pub(crate) fn roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in certs(path)? {
        store
            .add(cert)
            .map_err(|e| invalid(path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(Arc::new(store))
}
