//! TLS configuration (rustls with the `ring` provider): load a PEM certificate chain and key
//! into an acceptor. The accept loop in [`crate::listen`] handshakes each connection with it
//! (under the header-read deadline) before serving HTTP and `wss://`.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

use crate::config::TlsPaths;
use crate::error::{Error, Result};

/// Build a TLS acceptor from PEM files.
pub fn acceptor(paths: &TlsPaths) -> Result<TlsAcceptor> {
    let certs = load_certs(&paths.cert)?;
    let key = rustls_pemfile::private_key(&mut open(&paths.key)?)
        .map_err(|e| Error::Tls(format!("cannot read {}: {e}", paths.key.display())))?
        .ok_or_else(|| Error::Tls(format!("no private key in {}", paths.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not fit: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    std::fs::File::open(path)
        .map(std::io::BufReader::new)
        .map_err(|e| Error::Tls(format!("cannot open {}: {e}", path.display())))
}

fn load_certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    let certs = rustls_pemfile::certs(&mut open(path)?)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("cannot read {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}
