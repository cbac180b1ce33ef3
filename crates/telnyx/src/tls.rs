//! Which certificates the app trusts for Telnyx's REST API and its websocket: the operating
//! system's store (so a company that inspects TLS, with its own root installed on its computers,
//! does not lock the agent out) and the bundled Mozilla roots (so a computer without a usable
//! store still reaches Telnyx). On Linux the store is the system bundle, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set; on Windows and macOS, the system's keychain.

use std::sync::Arc;

use rustls::RootCertStore;

/// A TLS client configuration with those roots. The system's store is read each time (a root
/// installed while the app runs counts at the next connection).
pub fn client_config() -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(%error, "a certificate of the system's store could not be read");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "the system's certificates are trusted too");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|error| {
            // ring supports the default versions; this cannot fail with it.
            tracing::error!(%error, "TLS versions refused; no roots configured");
            rustls::ClientConfig::builder().with_root_certificates(RootCertStore::empty()).with_no_client_auth()
        });
    Arc::new(config)
}

/// Whether `error` (or what caused it) is a certificate the roots do not vouch for.
pub fn is_untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(rustls::Error::InvalidCertificate(_)) = error.downcast_ref::<rustls::Error>() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && is_untrusted_certificate(inner)
        {
            return true;
        }
        current = error.source();
    }
    false
}
