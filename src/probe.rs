//! Probes that really probe: an HTTP request or a TCP connection, timed. Probe steps and
//! checks use them at run time, and so do the rhai functions `http_get` and `tcp_connect`.
//! They block: call them from a blocking thread. Which hosts may be reached is decided by
//! the caller (a workflow reaches only the hosts it declares).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// At most this many addresses of one name are tried.
pub const MAX_ADDRESSES: usize = 4;

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

/// An HTTP request (`get`, `post`, `head`, `put`) with no body, no redirects followed (a
/// redirect could reach a host nobody declared) and no proxy.
pub fn http(method: &str, url: &str, timeout: Duration) -> Probed {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .build()
        .into();
    let start = Instant::now();
    let result = match method {
        "post" => agent.post(url).send_empty(),
        "put" => agent.put(url).send_empty(),
        "head" => agent.head(url).call(),
        _ => agent.get(url).call(),
    };
    let latency = start.elapsed();
    match result {
        Ok(resp) => Probed {
            status: Some(resp.status().as_u16()),
            answered: true,
            latency,
            error: None,
        },
        Err(e) => Probed {
            status: None,
            answered: false,
            latency,
            error: Some(e.to_string()),
        },
    }
}

/// A TCP connection to `host:port`, trying at most [`MAX_ADDRESSES`] of its addresses,
/// each for up to `timeout`. `give_up` is asked before each address (a deadline).
pub fn tcp(
    host: &str,
    port: u16,
    timeout: Duration,
    mut give_up: impl FnMut() -> Result<(), String>,
) -> Result<Probed, String> {
    let start = Instant::now();
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?;
    let mut error = None;
    for addr in addrs.take(MAX_ADDRESSES) {
        give_up()?;
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
