//! Probes that really probe: an HTTP request or a TCP connection, timed. Probe steps and
//! checks use them at run time, and so do the rhai functions `http_get` and `tcp_connect`.
//! They block: call them from a blocking thread. Which hosts may be reached is decided by
//! the caller (a workflow reaches only the hosts it declares).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// At most this many addresses of one name are tried.
pub const MAX_ADDRESSES: usize = 4;

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

/// Why a caller of [`tcp`] stops trying.
pub type GiveUp = Box<dyn std::error::Error + Send + Sync>;

/// Why a TCP probe or a webhook got no answer at all.
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
    /// The request could not be sent or no status came back.
    #[error(transparent)]
    Http(#[from] ureq::Error),
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
}

impl Probed {
    /// Whether it passes: the expected status (any 2xx when none is expected), or, for TCP,
    /// the connection opened.
    pub fn passes(&self, expect: Option<u64>) -> bool {
        match (expect, self.status) {
            (Some(want), Some(got)) => u64::from(got) == want,
            (None, Some(got)) => (200..300).contains(&got),
            (_, None) => self.answered,
        }
    }

    /// What came back, in words: the status, the error, or `connected`.
    pub fn seen(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), _) => format!("status {s}"),
            (None, Some(e)) => e.clone(),
            (None, None) if self.answered => "connected".into(),
            (None, None) => "no answer".into(),
        }
    }
}

/// An HTTP client for one probe target: no redirects followed (a redirect could reach a
/// host nobody declared), no proxy, and its connection kept open between probes (a monitor
/// probing every second does not pay a new connection each time).
pub struct HttpProber {
    agent: ureq::Agent,
}

impl HttpProber {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> HttpProber {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .build()
            .into();
        HttpProber { agent }
    }

    /// A request (`get`, `post`, `head`, `put`) with no body, timed.
    pub fn request(&self, method: HttpMethod, url: &str) -> Probed {
        let start = Instant::now();
        let result = match method {
            HttpMethod::Post => self.agent.post(url).send_empty(),
            HttpMethod::Put => self.agent.put(url).send_empty(),
            HttpMethod::Head => self.agent.head(url).call(),
            HttpMethod::Get => self.agent.get(url).call(),
        };
        let latency = start.elapsed();
        match result {
            Ok(mut resp) => {
                // Read the body so that the connection can serve the next probe.
                let _ = resp.body_mut().read_to_vec();
                Probed {
                    status: Some(resp.status().as_u16()),
                    answered: true,
                    latency,
                    error: None,
                }
            }
            Err(e) => Probed {
                status: None,
                answered: false,
                latency,
                error: Some(e.to_string()),
            },
        }
    }
}

/// One HTTP request (`get`, `post`, `head`, `put`) with no body, on a new connection.
pub fn http(method: HttpMethod, url: &str, timeout: Duration) -> Probed {
    HttpProber::new(timeout).request(method, url)
}

/// A TCP connection to `host:port`, trying at most [`MAX_ADDRESSES`] of its addresses,
/// each for up to `timeout`. `give_up` is asked before each address (a deadline).
///
/// # Errors
///
/// A [`ProbeError`]: the name did not resolve, or `give_up` said to stop (each address
/// refused or timed out is an answer of `Ok`, with its error).
pub fn tcp(
    host: &str,
    port: u16,
    timeout: Duration,
    mut give_up: impl FnMut() -> Result<(), GiveUp>,
) -> Result<Probed, ProbeError> {
    let start = Instant::now();
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|source| ProbeError::Resolve {
            host: host.to_string(),
            source,
        })?;
    let mut error = None;
    for addr in addrs.take(MAX_ADDRESSES) {
        give_up().map_err(ProbeError::GaveUp)?;
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => {
                return Ok(Probed {
                    status: None,
                    answered: true,
                    latency: start.elapsed(),
                    error: None,
                });
            }
            Err(e) => error = Some(format!("{addr}: {e}")),
        }
    }
    Ok(Probed {
        status: None,
        answered: false,
        latency: start.elapsed(),
        error: error.or_else(|| Some(format!("`{host}` has no address"))),
    })
}

/// `host:port` split, for a TCP probe's target.
pub fn host_port(target: &str) -> Option<(&str, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host, port.parse().ok()?))
}

/// POSTs `json` to `url` (a webhook), with the same rules as a probe: no redirects, no
/// proxy. The status that came back, or why none did.
///
/// # Errors
///
/// [`ProbeError::Http`]: no status came back (a malformed URL, no connection, a timeout).
pub fn post_json(url: &str, json: &str, timeout: Duration) -> Result<u16, ProbeError> {
    let prober = HttpProber::new(timeout);
    Ok(prober
        .agent
        .post(url)
        .header("content-type", "application/json")
        .send(json)
        .map(|r| r.status().as_u16())?)
}
