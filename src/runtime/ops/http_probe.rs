//! HTTP health probes on the runtime itself (hyper over a tokio TCP stream): one kept-alive
//! connection per health check, no thread per probe. A monitor probing a thousand
//! endpoints every second spends its time in the kernel's loopback, not in thread
//! handoffs. `https` URLs go through the blocking client instead ([`crate::probe`]).

use crate::probe::HttpMethod;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::time::Instant;

/// What one probe saw.
#[derive(Debug)]
pub(super) struct Answer {
    /// The status, when one came back.
    pub status: Option<u16>,
    /// How long it took.
    pub latency: Duration,
    /// Why none came back.
    pub error: Option<String>,
}

/// Why a request of a health check got no status.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    /// No connection to send it on.
    #[error("no connection")]
    NoConnection,
    /// The TCP connection did not open.
    #[error("{authority}: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The request could not be built.
    #[error(transparent)]
    Build(#[from] hyper::http::Error),
    /// The handshake, the request or the response's body failed.
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// A health check's HTTP client: its URL and its open connection.
pub(super) struct HttpCheck {
    uri: hyper::Uri,
    method: hyper::Method,
    authority: String,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl HttpCheck {
    /// A client for `method url`, or `None` when the URL is not plain `http://`.
    pub(super) fn new(method: HttpMethod, url: &str) -> Option<HttpCheck> {
        let uri: hyper::Uri = url.parse().ok()?;
        if uri.scheme_str() != Some("http") {
            return None;
        }
        let authority = uri.authority()?.to_string();
        let method = match method {
            HttpMethod::Post => hyper::Method::POST,
            HttpMethod::Put => hyper::Method::PUT,
            HttpMethod::Head => hyper::Method::HEAD,
            HttpMethod::Get => hyper::Method::GET,
        };
        Some(HttpCheck {
            uri,
            method,
            authority,
            sender: None,
        })
    }

    /// One request, on the kept connection or a new one; gives up after `timeout`.
    pub(super) async fn probe(&mut self, timeout: Duration) -> Answer {
        let start = Instant::now();
        let result = tokio::time::timeout(timeout, self.request()).await;
        let latency = start.elapsed();
        match result {
            Ok(Ok(status)) => Answer {
                status: Some(status),
                latency,
                error: None,
            },
            Ok(Err(e)) => {
                self.sender = None;
                Answer {
                    status: None,
                    latency,
                    error: Some(e.to_string()),
                }
            }
            Err(_) => {
                self.sender = None;
                Answer {
                    status: None,
                    latency,
                    error: Some(format!("no answer within {timeout:?}")),
                }
            }
        }
    }

    async fn request(&mut self) -> Result<u16, RequestError> {
        let ready = match &mut self.sender {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !ready {
            self.sender = Some(self.connect().await?);
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err(RequestError::NoConnection);
        };
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let request = hyper::Request::builder()
            .method(self.method.clone())
            .uri(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::USER_AGENT, "bmad-monitor")
            .body(Empty::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        // Read the body so that the connection serves the next probe.
        response.into_body().collect().await?;
        Ok(status)
    }

    async fn connect(&self) -> Result<SendRequest<Empty<Bytes>>, RequestError> {
        let host = self.uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = self.uri.port_u16().unwrap_or(80);
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|source| RequestError::Connect {
                authority: self.authority.clone(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection runs until the check drops its sender.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls() {
        assert!(HttpCheck::new(HttpMethod::Get, "http://127.0.0.1:8080/health").is_some());
        assert!(HttpCheck::new(HttpMethod::Get, "https://example.com/").is_none());
        assert!(HttpCheck::new(HttpMethod::Get, "not a url").is_none());
    }

    #[tokio::test]
    async fn a_closed_port_is_no_answer() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = HttpCheck::new(HttpMethod::Get, &format!("http://127.0.0.1:{port}/")).unwrap();
        let a = c.probe(Duration::from_secs(2)).await;
        assert_eq!(a.status, None);
        assert!(a.error.is_some());
    }
}
