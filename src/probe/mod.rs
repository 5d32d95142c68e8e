//! Probes that really probe, and bmad's one HTTP client: an HTTP(S) request or a TCP
//! connection, timed. Health checks, probe steps, webhooks and the rhai functions
//! `http_get` and `tcp_connect` all come here.
//!
//! - [`http`]: the HTTP client (hyper on tokio, rustls for `https`), one kept-alive
//!   connection per client; no redirect is ever followed (a 3xx is an answer like any
//!   other, its `Location` named), no proxy.
//! - [`tls`]: which certificates are trusted: the system's roots (`SSL_CERT_FILE` and
//!   `SSL_CERT_DIR` honoured), plus a check's own `ca_file` for a private CA.
//! - [`tcp`]: a TCP connection (blocking, on the blocking pool when called from the
//!   runtime).
//!
//! Which hosts may be reached is decided by the callers (a workflow reaches only the hosts
//! it declares). Async callers use [`Prober`] and [`http::post_json`]; blocking callers
//! (rhai) use [`http_blocking`], a request on a small runtime of its own.

pub mod http;
pub mod tcp;
pub mod tls;

pub use http::{HttpClient, HttpError};
pub use tcp::{GiveUp, MAX_ADDRESSES, host_port, tcp};

use std::path::Path;
use std::time::Duration;

/// The method of an HTTP probe: a request with no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `get`.
    Get,
    /// `post`.
    Post,
    /// `head`.
    Head,
    /// `put`.
    Put,
}

impl HttpMethod {
    /// The method as a workflow writes it: `get`, `post`, `head`, `put`.
    pub fn word(self) -> &'static str {
        match self {
            HttpMethod::Get => "get",
            HttpMethod::Post => "post",
            HttpMethod::Head => "head",
            HttpMethod::Put => "put",
        }
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

/// Why a probe could not be made or got no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A TCP probe's target is not `host:port`.
    #[error("`{0}` is not host:port")]
    NotHostPort(String),
    /// The host name did not resolve.
    #[error("cannot resolve `{host}`: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The caller gave up (its deadline passed), with its reason.
    #[error(transparent)]
    GaveUp(GiveUp),
    /// The blocking thread of a TCP probe failed.
    #[error("the probe's thread failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
    /// The HTTP client could not be made (a bad URL, an unreadable `ca_file`), or a
    /// request got no status.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// The HTTP status; `None` when there was no answer (or for TCP).
    pub status: Option<u16>,
    /// Whether it answered (TCP: the connection opened; HTTP: any status).
    pub answered: bool,
    /// How long it took.
    pub latency: Duration,
    /// Why there was no answer.
    pub error: Option<String>,
    /// Where a redirect (a 3xx with a `Location`) pointed; never followed.
    pub location: Option<String>,
}

impl Probed {
    /// No answer, and why.
    pub fn failed(error: String, latency: Duration) -> Probed {
        Probed {
            status: None,
            answered: false,
            latency,
            error: Some(error),
            location: None,
        }
    }

    /// Whether it passes: the expected status (any 2xx when none is expected), or, for TCP,
    /// the connection opened.
    pub fn passes(&self, expect: Option<u64>) -> bool {
        match (expect, self.status) {
            (Some(want), Some(got)) => u64::from(got) == want,
            (None, Some(got)) => (200..300).contains(&got),
            (_, None) => self.answered,
        }
    }

    /// What came back, in words: the status (and where a redirect pointed), the error, or
    /// `connected`.
    pub fn seen(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), _) => match &self.location {
                Some(to) => format!("status {s} (a redirect to {to}, not followed)"),
                None => format!("status {s}"),
            },
            (None, Some(e)) => e.clone(),
            (None, None) if self.answered => "connected".into(),
            (None, None) => "no answer".into(),
        }
    }
}

/// One probe target, ready to probe again and again: an HTTP client with its kept-alive
/// connection, or a TCP `host:port`. Health checks keep one per check; a probe step makes
/// one per probe.
pub enum Prober {
    /// An HTTP(S) request.
    Http(Box<HttpClient>),
    /// A TCP connection.
    Tcp {
        /// The host.
        host: String,
        /// The port.
        port: u16,
    },
}

impl Prober {
    /// A prober for `target`: an HTTP request with `method` (trusting `ca_file` too for
    /// `https`), or, with no method, a TCP connection to `host:port`.
    ///
    /// # Errors
    ///
    /// A [`ProbeError`]: the target is not a URL or not `host:port`, or the CA file
    /// cannot be read.
    pub fn new(
        method: Option<HttpMethod>,
        target: &str,
        ca_file: Option<&Path>,
    ) -> Result<Prober, ProbeError> {
        if let Some(m) = method {
            return Ok(Prober::Http(Box::new(HttpClient::new(m, target, ca_file)?)));
        }
        let (host, port) =
            host_port(target).ok_or_else(|| ProbeError::NotHostPort(target.into()))?;
        Ok(Prober::Tcp {
            host: host.to_string(),
            port,
        })
    }

    /// Probes once, giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// A [`ProbeError`] when a TCP target's name does not resolve or its thread failed;
    /// an HTTP request that got no status is an `Ok` [`Probed`] with its error.
    pub async fn probe(&mut self, timeout: Duration) -> Result<Probed, ProbeError> {
        match self {
            Prober::Http(client) => Ok(client.probe(timeout).await),
            Prober::Tcp { host, port } => {
                let (host, port) = (host.clone(), *port);
                tokio::task::spawn_blocking(move || tcp(&host, port, timeout, || Ok(()))).await?
            }
        }
    }
}

/// One HTTP request with no body on a new connection, for a blocking caller (rhai's
/// `http_get`): the request runs on a current-thread runtime made for it on this thread.
/// Call it from a plain or a blocking-pool thread, never from an async task (which tokio
/// refuses with a panic).
pub fn http_blocking(method: HttpMethod, url: &str, timeout: Duration) -> Probed {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return Probed::failed(format!("no runtime for the request: {e}"), Duration::ZERO);
        }
    };
    runtime.block_on(async {
        match HttpClient::new(method, url, None) {
            Ok(mut client) => client.probe(timeout).await,
            Err(e) => Probed::failed(e.to_string(), Duration::ZERO),
        }
    })
}
