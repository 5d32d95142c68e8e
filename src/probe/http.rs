//! bmad's one HTTP client: hyper's HTTP/1.1 connection API over a tokio TCP stream, wrapped
//! in rustls for `https` ([`super::tls`] says which certificates are trusted). A client is
//! made for one URL and keeps its connection open between requests, so a monitor probing
//! a thousand endpoints every second pays neither a thread handoff nor a new connection
//! (nor a TLS handshake) per probe.
//!
//! Redirects are never followed: a 3xx is the answer, with its `Location` reported (a
//! redirect could lead to a host the workflow does not declare). No proxy is used.

use super::{HttpMethod, Probed, tls};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Why an HTTP client could not be made, or a request got no status.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL does not parse, is not `http` or `https`, or has no host.
    #[error("`{0}` is not an http:// or https:// URL")]
    BadUrl(String),
    /// The TLS configuration (the CA file) could not be made.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The TCP connection did not open.
    #[error("{authority}: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server's certificate was refused: what is wrong with it, in words.
    #[error("{0}")]
    Certificate(String),
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake with {authority} failed: {source}")]
    Handshake {
        /// `host:port`.
        authority: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The request could not be built.
    #[error(transparent)]
    Build(#[from] hyper::http::Error),
    /// The HTTP exchange or the response's body failed.
    #[error(transparent)]
    Http(#[from] hyper::Error),
    /// No status within the time limit.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// What a request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The `Location` of a redirect (a 3xx); it is not followed.
    pub location: Option<String>,
}

/// An HTTP client for one URL and its kept-alive connection.
pub struct HttpClient {
    uri: hyper::Uri,
    method: hyper::Method,
    authority: String,
    host: String,
    port: u16,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl HttpClient {
    /// A client for `method url`; an `https` URL trusts the system's roots and the
    /// certificates of `ca_file`, when given.
    ///
    /// # Errors
    ///
    /// [`HttpError::BadUrl`] for a URL that is not `http://` or `https://` with a host;
    /// [`HttpError::Tls`] when `ca_file` cannot be read or holds no certificate.
    pub fn new(
        method: HttpMethod,
        url: &str,
        ca_file: Option<&Path>,
    ) -> Result<HttpClient, HttpError> {
        let bad = || HttpError::BadUrl(url.to_string());
        let uri: hyper::Uri = url.parse().map_err(|_| bad())?;
        let secure = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad()),
        };
        let authority = uri.authority().ok_or_else(bad)?.to_string();
        let host = uri.host().ok_or_else(bad)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let tls = if secure {
            let config = match ca_file {
                Some(path) => tls::with_ca_file(path)?,
                None => tls::system()?,
            };
            let name = ServerName::try_from(host.clone()).map_err(|_| bad())?;
            Some((config, name))
        } else {
            None
        };
        let method = match method {
            HttpMethod::Post => hyper::Method::POST,
            HttpMethod::Put => hyper::Method::PUT,
            HttpMethod::Head => hyper::Method::HEAD,
            HttpMethod::Get => hyper::Method::GET,
        };
        Ok(HttpClient {
            uri,
            method,
            authority,
            host,
            port,
            tls,
            sender: None,
        })
    }

    /// The client's request with no body, timed; gives up after `timeout`. No status is
    /// an answer too: a [`Probed`] with its error.
    pub async fn probe(&mut self, timeout: Duration) -> Probed {
        let start = Instant::now();
        let method = self.method.clone();
        let result = self.send(method, Bytes::new(), None, timeout).await;
        let latency = start.elapsed();
        match result {
            Ok(a) => Probed {
                status: Some(a.status),
                answered: true,
                latency,
                error: None,
                location: a.location,
            },
            Err(e) => Probed::failed(e.to_string(), latency),
        }
    }

    /// A request with `body` (of `content_type`, when given), on the kept connection or a
    /// new one; gives up after `timeout`.
    ///
    /// # Errors
    ///
    /// An [`HttpError`]: no connection, a refused certificate, a failed exchange, or no
    /// status in time. The connection is dropped then; the next request opens another.
    pub async fn send(
        &mut self,
        method: hyper::Method,
        body: Bytes,
        content_type: Option<&str>,
        timeout: Duration,
    ) -> Result<Answer, HttpError> {
        let result = tokio::time::timeout(timeout, self.exchange(method, body, content_type))
            .await
            .unwrap_or(Err(HttpError::Timeout(timeout)));
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn exchange(
        &mut self,
        method: hyper::Method,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<Answer, HttpError> {
        // The kept connection when it can take a request, else a new one; it is kept
        // again only when the exchange succeeds.
        let kept = match self.sender.take() {
            Some(mut s) => s.ready().await.is_ok().then_some(s),
            None => None,
        };
        let mut sender = match kept {
            Some(s) => s,
            None => self.connect().await?,
        };
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::USER_AGENT, "bmad");
        if let Some(t) = content_type {
            request = request.header(hyper::header::CONTENT_TYPE, t);
        }
        let response = sender.send_request(request.body(Full::new(body))?).await?;
        let status = response.status();
        let location = status
            .is_redirection()
            .then(|| response.headers().get(hyper::header::LOCATION))
            .flatten()
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        // Read the body so that the connection serves the next request.
        response.into_body().collect().await?;
        self.sender = Some(sender);
        Ok(Answer {
            status: status.as_u16(),
            location,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| HttpError::Connect {
                authority: self.authority.clone(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let Some((config, name)) = &self.tls else {
            return handshake(stream).await;
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
        match connector.connect(name.clone(), stream).await {
            Ok(stream) => handshake(stream).await,
            Err(source) => Err(match tls::certificate_problem(&source, &self.host) {
                Some(problem) => HttpError::Certificate(problem),
                None => HttpError::Handshake {
                    authority: self.authority.clone(),
                    source,
                },
            }),
        }
    }
}

/// HTTP/1.1 over `stream`; the connection runs in a task of its own until the client drops
/// its sender.
async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// POSTs `json` to `url` (a webhook) on a new connection, trusting the system's roots.
/// The status that came back.
///
/// # Errors
///
/// An [`HttpError`]: a malformed URL, no connection, a refused certificate, no status in
/// time.
pub async fn post_json(url: &str, json: &str, timeout: Duration) -> Result<u16, HttpError> {
    let mut client = HttpClient::new(HttpMethod::Post, url, None)?;
    let body = Bytes::copy_from_slice(json.as_bytes());
    let answer = client
        .send(hyper::Method::POST, body, Some("application/json"), timeout)
        .await?;
    Ok(answer.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_only() {
        assert!(HttpClient::new(HttpMethod::Get, "http://127.0.0.1:8080/health", None).is_ok());
        assert!(HttpClient::new(HttpMethod::Get, "https://example.com/", None).is_ok());
        for bad in ["not a url", "ftp://example.com/", "/health"] {
            let e = HttpClient::new(HttpMethod::Get, bad, None).err().unwrap();
            assert!(matches!(e, HttpError::BadUrl(_)), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_no_answer() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let mut c = HttpClient::new(HttpMethod::Get, &url, None).unwrap();
        let a = c.probe(Duration::from_secs(2)).await;
        assert_eq!(a.status, None);
        assert!(a.error.is_some());
    }

    #[test]
    fn a_blocking_caller_gets_an_answer_too() {
        let p = super::super::http_blocking(HttpMethod::Get, "nope://x", Duration::from_secs(1));
        assert!(p.error.unwrap().contains("not an http"));
    }
}
