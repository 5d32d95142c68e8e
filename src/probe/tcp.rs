//! TCP probes: a connection to `host:port`, timed, on the calling thread (blocking). The
//! runtime's callers run it on the blocking pool ([`super::Prober`]); rhai's
//! `tcp_connect` calls it directly with its deadline.

use super::{ProbeError, Probed};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// At most this many addresses of one name are tried.
pub const MAX_ADDRESSES: usize = 4;

/// Why a caller of [`tcp`] stops trying.
pub type GiveUp = Box<dyn std::error::Error + Send + Sync>;

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
                    location: None,
                });
            }
            Err(e) => error = Some(format!("{addr}: {e}")),
        }
    }
    Ok(Probed::failed(
        error.unwrap_or_else(|| format!("`{host}` has no address")),
        start.elapsed(),
    ))
}

/// `host:port` split, for a TCP probe's target.
pub fn host_port(target: &str) -> Option<(&str, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split() {
        assert_eq!(host_port("db:5432"), Some(("db", 5432)));
        assert_eq!(host_port("[::1]:80"), Some(("::1", 80)));
        assert_eq!(host_port("db"), None);
    }

    #[test]
    fn a_closed_port_is_no_answer() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let p = tcp("127.0.0.1", port, Duration::from_secs(2), || Ok(())).unwrap();
        assert!(!p.answered && p.error.is_some());
    }
}
