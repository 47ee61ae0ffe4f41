//! TLS configuration (rustls with the `ring` provider): load a PEM certificate chain and key
//! into an acceptor. The accept loop in [`crate::listen`] handshakes each connection with it
//! (under the header-read deadline) before serving HTTP and `wss://`.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsPaths;
use crate::error::{Error, Result};

/// Build a TLS acceptor from PEM files.
pub fn acceptor(paths: &TlsPaths) -> Result<TlsAcceptor> {
    let certs = load_certs(&paths.cert)?;
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|e| match e {
        pem::Error::NoItemsFound => {
            Error::Tls(format!("no private key in {}", paths.key.display()))
        }
        e => pem_error(&paths.key, e),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not fit: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Every certificate in a PEM file, in order (leaf first, as in a `fullchain.pem`).
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}

/// Name the file in a PEM error, telling an unreadable file from a malformed one.
fn pem_error(path: &Path, e: pem::Error) -> Error {
    match e {
        pem::Error::Io(e) => Error::Tls(format!("cannot open {}: {e}", path.display())),
        e => Error::Tls(format!("cannot read {}: {e}", path.display())),
    }
}
