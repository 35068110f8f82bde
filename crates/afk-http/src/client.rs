//! The one way afk builds an HTTP client (ureq). Every outbound call — the
//! forge, the agent-thread service, registries, the Kubernetes API, webhooks,
//! the heartbeat — starts from [`builder`], so all of them name themselves
//! the same way and none follows a redirect: a redirect could carry a request
//! (and its `Authorization` header or body) to a host nobody configured.
//! Callers add only what is theirs: a connection pool size, a cluster CA.

use std::time::Duration;

/// The one client's own types, for what its callers hold and match on (an
/// agent [`builder`] built, an answer, a failed call): no file outside
/// afk-http names `ureq` (src/layers/adapters.rs checks it).
pub use ureq::{Agent, AgentBuilder, Error, ErrorKind, Response, Transport};

/// afk's `User-Agent`: `afk/<version>`.
pub const USER_AGENT: &str = concat!("afk/", env!("CARGO_PKG_VERSION"));

/// A client builder with afk's user agent, no redirects and `timeout` for
/// each whole request.
pub fn builder(timeout: Duration) -> ureq::AgentBuilder {
    ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .user_agent(USER_AGENT)
}

/// A TLS configuration for a client of its own (`Http::set_connection`).
pub type Tls = std::sync::Arc<rustls::ClientConfig>;

/// Why a CA bundle gives no roots to trust.
#[derive(Debug)]
pub enum BadRoots {
    /// a block that is no PEM certificate, and what the parser said
    NotPem(String),
    /// a certificate rustls refused as a root, and why
    Refused(String),
    /// no certificate at all
    Empty,
    /// the TLS configuration could not be made
    Tls(String),
}

/// A TLS configuration whose only roots are the certificates of `pem` (a
/// cluster's CA bundle): not the system's, not the web's.
pub fn only_roots(pem: &[u8]) -> Result<Tls, BadRoots> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| BadRoots::NotPem(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| BadRoots::Refused(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(BadRoots::Empty);
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BadRoots::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(cfg))
}

/// A TLS configuration that trusts the roots every other afk client trusts
/// (ureq's own: the web's, `webpki-roots`) and the certificates of `pem`
/// besides: an OTLP collector's certificate file
/// (`OTEL_EXPORTER_OTLP_CERTIFICATE`), which adds to the roots and
/// replaces none.
pub fn web_roots_and(pem: &[u8]) -> Result<Tls, BadRoots> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| BadRoots::NotPem(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| BadRoots::Refused(e.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(BadRoots::Empty);
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BadRoots::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(cfg))
}

/// Whether a transport failure is the peer's certificate failing its check
/// (an unknown issuer, another name, expired, a CA as the end entity, none
/// presented): the handshake stopped before any byte of a request was sent.
pub fn certificate_refused(t: &ureq::Transport) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                r,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    false
}
