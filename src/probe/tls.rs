//! Which server certificates the HTTP client trusts: the system's roots, loaded once per
//! process (rustls-native-certs: the platform's store, or `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` when set), plus, for one health check or probe, the PEM certificates of
//! its `ca_file` (a private CA). A rejected certificate is named as such
//! ([`certificate_problem`]).

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Why a TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read.
    #[error("cannot read the CA file `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The CA file holds no PEM certificate that rustls accepts.
    #[error("the CA file `{path}` holds no usable PEM certificate")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the configuration (no protocol version in common with its provider).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The system's roots, loaded once; certificates the store could not parse are skipped.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!("a system root certificate was not loaded: {e}");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!("{added} system root certificates trusted, {ignored} ignored");
        roots
    })
}

fn config(roots: RootCertStore) -> Result<Arc<ClientConfig>, TlsError> {
    // rustls 0.23.48 deprecates its ring provider for lacking post-quantum key exchange;
    // ring is kept on purpose: it builds with a C compiler alone (aws-lc-rs wants a long
    // C build of its own), and X25519 with P-256/P-384 is what a health check needs.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The client configuration trusting the system's roots, made once (webhooks, rhai, and
/// every check without a `ca_file`).
///
/// # Errors
///
/// [`TlsError::Config`], which the ring provider's defaults never give.
pub fn system() -> Result<Arc<ClientConfig>, TlsError> {
    static SYSTEM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(c) = SYSTEM.get() {
        return Ok(Arc::clone(c));
    }
    let c = config(system_roots().clone())?;
    Ok(Arc::clone(SYSTEM.get_or_init(|| c)))
}

/// The bytes of a CA file: a regular file of at most 1 MiB, opened without blocking (a
/// device or a FIFO named there would never end; a certificate bundle is far smaller).
fn read_small_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    const MAX: u64 = 1 << 20;
    let refuse = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string());
    if !std::fs::metadata(path)?.is_file() {
        return Err(refuse(
            "it is not a regular file (a device, a FIFO, a directory)",
        ));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(refuse(
            "it is not a regular file (a device, a FIFO, a directory)",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX {
        return Err(refuse("it is larger than 1 MiB"));
    }
    Ok(bytes)
}

/// The certificates of a CA file (PEM: one or more `BEGIN CERTIFICATE` blocks).
///
/// # Errors
///
/// A [`TlsError`]: the file cannot be read or holds no certificate.
pub fn ca_certificates(ca_file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_small_regular(ca_file).map_err(|source| TlsError::Read {
        path: ca_file.to_path_buf(),
        source,
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: ca_file.to_path_buf(),
        });
    }
    Ok(certs)
}

/// A client configuration trusting the system's roots and the certificates of `ca_file`,
/// made once per file and process: a thousand checks naming one CA share one
/// configuration (and its cache of TLS sessions, which makes a reconnection cheaper). A
/// file changed while the process runs is read again by the next process.
///
/// # Errors
///
/// A [`TlsError`]: the file cannot be read or holds no certificate rustls accepts.
pub fn with_ca_file(ca_file: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    static MADE: Mutex<Vec<(PathBuf, Arc<ClientConfig>)>> = Mutex::new(Vec::new());
    let made = |m: &[(PathBuf, Arc<ClientConfig>)]| {
        m.iter()
            .find(|(p, _)| p == ca_file)
            .map(|(_, c)| Arc::clone(c))
    };
    if let Some(c) = made(&MADE.lock().unwrap_or_else(PoisonError::into_inner)) {
        return Ok(c);
    }
    let config = read_ca_file(ca_file)?;
    let mut all = MADE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = made(&all) {
        return Ok(c);
    }
    all.push((ca_file.to_path_buf(), Arc::clone(&config)));
    Ok(config)
}

fn read_ca_file(ca_file: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = system_roots().clone();
    let (added, _) = roots.add_parsable_certificates(ca_certificates(ca_file)?);
    if added == 0 {
        return Err(TlsError::NoCertificate {
            path: ca_file.to_path_buf(),
        });
    }
    config(roots)
}

/// When a TLS handshake failed over the server's certificate, what is wrong with it, in
/// words that say so ("certificate not trusted: ..."); `None` for any other failure.
pub fn certificate_problem(e: &std::io::Error, host: &str) -> Option<String> {
    use rustls::CertificateError as C;
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    let rustls::Error::InvalidCertificate(c) = inner else {
        return None;
    };
    Some(match c {
        C::UnknownIssuer | C::BadSignature => format!(
            "certificate not trusted: `{host}`'s certificate is not signed by a trusted root \
             (a private CA? give the check a `ca_file`; webhooks and scripts trust \
             SSL_CERT_FILE)"
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            format!("certificate not valid for `{host}`: it names other hosts")
        }
        C::Expired | C::ExpiredContext { .. } => format!("certificate of `{host}` has expired"),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            format!("certificate of `{host}` is not valid yet")
        }
        C::Revoked => format!("certificate of `{host}` is revoked"),
        _ => format!("certificate of `{host}` rejected: {inner}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 certificate (`CN=bmad-test-ca`), made once with openssl.
    const SOME_CA: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBhjCCASugAwIBAgIUf6QWs+F3kKki4/ku5fMX4FB+hHowCgYIKoZIzj0EAwIw\n\
FzEVMBMGA1UEAwwMYm1hZC10ZXN0LWNhMCAXDTI2MTIwNTIzMTkwNFoYDzIxMjYx\n\
MTExMjMxOTA0WjAXMRUwEwYDVQQDDAxibWFkLXRlc3QtY2EwWTATBgcqhkjOPQIB\n\
BggqhkjOPQMBBwNCAATbrrZ/CWtnKhOh1dL0QOsywNpOxXwwWretZQ8fMmkhI7l7\n\
WkWzRpBpQzR8q3PfFbQs0CVKVH1leRT7hxmzcQ79o1MwUTAdBgNVHQ4EFgQUr9iG\n\
JFyxhADfQs2+hBq/0ZnMFg0wHwYDVR0jBBgwFoAUr9iGJFyxhADfQs2+hBq/0ZnM\n\
Fg0wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAmfZyhELmsEUR\n\
5BfOLG7vcJhOw77tuBNWjLW47dwVtFICIQDEWNYnamzF9FGXww8TJ7Rst9L/SVuy\n\
zdT6OXwloPzfzg==\n\
-----END CERTIFICATE-----\n";

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let e = with_ca_file(Path::new("/no/such/ca.pem")).unwrap_err();
        assert!(e.to_string().contains("cannot read the CA file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let e = with_ca_file(&empty).unwrap_err();
        assert!(e.to_string().contains("no usable PEM certificate"), "{e}");
    }

    #[test]
    fn a_ca_file_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, SOME_CA).unwrap();
        let a = with_ca_file(&ca).unwrap();
        std::fs::remove_file(&ca).unwrap();
        let b = with_ca_file(&ca).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn the_system_configuration_is_made_once() {
        let (a, b) = (system().unwrap(), system().unwrap());
        assert!(Arc::ptr_eq(&a, &b));
    }
}
