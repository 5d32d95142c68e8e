//! Who may look: with a token, every request carries it (an `Authorization: Bearer`
//! header, or the cookie that a `?token=` link sets, then left out of the address); without
//! one (loopback only), a request must name a loopback host, so that a web page elsewhere
//! cannot reach the view through a name that resolves to 127.0.0.1. Answering an approval
//! needs the token, and a request from another origin is refused.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The cookie that holds the token.
pub(super) const COOKIE: &str = "bmad_token";

/// Whether `a` and `b` are equal, in a time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries in its header or cookie.
fn carried(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
    })
}

/// The `token` of a query, and the query without it.
fn query_token(query: &str) -> (Option<String>, String) {
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("token=") {
            Some(t) => token = Some(decoded(t)),
            None => rest.push(pair),
        }
    }
    (token, rest.join("&"))
}

/// A query value with its `%XX` escapes (and `+` for a space) decoded.
fn decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a `Host` header names this machine's loopback.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a request comes from a page of this server (no `Origin`, or the one its `Host`
/// names).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

fn refused(status: StatusCode, why: &str) -> Response {
    super::pages::error_page(status, why).into_response()
}

/// The guard every request passes; every answer says that its pages load nothing from
/// elsewhere and may not be framed.
pub(super) async fn guard(
    token: State<Arc<Option<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = as_page(admit(token, request, next).await).await;
    let h = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

/// An error in plain text (axum's own, for an address it cannot read) as an error page.
async fn as_page(response: Response) -> Response {
    let status = response.status();
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    refused(status, &String::from_utf8_lossy(&body))
}

/// Lets a request through, or answers it with why not.
async fn admit(State(token): State<Arc<Option<String>>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let writes = request.method() != Method::GET && request.method() != Method::HEAD;
    let Some(token) = token.as_deref() else {
        if !loopback_host(headers) {
            return refused(
                StatusCode::FORBIDDEN,
                "[serve-host] this view answers only requests for a loopback host",
            );
        }
        if writes {
            return refused(
                StatusCode::FORBIDDEN,
                "[serve-read-only] this view is read-only: answering approvals needs \
                 `bmad serve --token`",
            );
        }
        return next.run(request).await;
    };
    if writes && !same_origin(headers) {
        return refused(
            StatusCode::FORBIDDEN,
            "[serve-origin] a request from another site",
        );
    }
    if carried(headers).is_some_and(|t| same(t, token)) {
        return next.run(request).await;
    }
    let (given, rest) = query_token(request.uri().query().unwrap_or(""));
    if let Some(given) = given.filter(|g| same(g, token)) {
        let path = request.uri().path();
        let to = if rest.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{rest}")
        };
        let cookie = format!("{COOKIE}={given}; Path=/; HttpOnly; SameSite=Strict");
        return ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response();
    }
    refused(
        StatusCode::UNAUTHORIZED,
        "[serve-token] this view needs its token: open the address with `?token=...` once, \
         or send `Authorization: Bearer ...`",
    )
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_token_is_read_from_a_header_or_a_cookie() {
        let h = headers(&[(header::AUTHORIZATION, "Bearer abc")]);
        assert_eq!(super::carried(&h), Some("abc"));
        let h = headers(&[(header::COOKIE, "x=1; bmad_token=xyz; y=2")]);
        assert_eq!(super::carried(&h), Some("xyz"));
        assert!(super::same("abc", "abc") && !super::same("abc", "abd") && !super::same("a", "ab"));
        assert_eq!(
            super::query_token("a=1&token=t&b=2"),
            (Some("t".into()), "a=1&b=2".into())
        );
        assert_eq!(super::decoded("a%2Fb+c%zz%"), "a/b c%zz%");
    }

    #[test]
    fn only_loopback_hosts_and_same_origin_requests_pass() {
        for ok in ["127.0.0.1:8080", "localhost:1", "[::1]:80", "localhost"] {
            assert!(
                super::loopback_host(&headers(&[(header::HOST, ok)])),
                "{ok}"
            );
        }
        for bad in ["evil.example:80", "10.0.0.1:80", ""] {
            assert!(
                !super::loopback_host(&headers(&[(header::HOST, bad)])),
                "{bad}"
            );
        }
        let h = headers(&[(header::HOST, "h:1"), (header::ORIGIN, "http://h:1")]);
        assert!(super::same_origin(&h));
        let h = headers(&[(header::HOST, "h:1"), (header::ORIGIN, "http://evil")]);
        assert!(!super::same_origin(&h));
    }
}
