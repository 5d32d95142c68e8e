//! A small HTTP/1.1 server on loopback for the operations tests: `GET /health` answers
//! 200, or 503 while the file `down` exists in its directory; `POST /hook` keeps the body
//! (a webhook). Connections are kept alive, as real clients expect. It counts the health
//! requests, so that a test can wait for probes instead of sleeping. [`serve_tls`] is the
//! same server behind TLS, with a self-signed certificate made for the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A running server.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Bodies POSTed to /hook, in order.
    pub hooks: Arc<Mutex<Vec<String>>>,
    /// How many `GET /health` requests it has had.
    pub health: Arc<AtomicUsize>,
}

/// Starts a server whose health depends on `dir/down`.
pub fn serve(dir: PathBuf) -> Server {
    start(dir, None)
}

/// The TLS server of [`serve_tls`] and the certificate it presents.
pub struct TlsServer {
    /// The server (its port, the hooks and the health count).
    pub server: Server,
    /// The PEM file of its self-signed certificate (for `ca_file` or `SSL_CERT_FILE`),
    /// valid for `localhost` and `127.0.0.1`.
    pub ca: PathBuf,
}

/// Starts the server of [`serve`] behind TLS, with a certificate made now and written to
/// `dir/ca.pem`.
#[allow(deprecated)] // rustls's ring provider: see src/probe/tls.rs.
pub fn serve_tls(dir: PathBuf) -> TlsServer {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, made.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
        .expect("a private key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .expect("a server configuration");
    let server = start(dir, Some(Arc::new(config)));
    TlsServer { server, ca }
}

fn start(dir: PathBuf, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().unwrap().port();
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let health = Arc::new(AtomicUsize::new(0));
    let (kept, counted) = (Arc::clone(&hooks), Arc::clone(&health));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (dir, hooks, health) = (dir.clone(), Arc::clone(&kept), Arc::clone(&counted));
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = match tls {
                    None => handle(stream, &dir, &hooks, &health),
                    Some(config) => rustls::ServerConnection::new(config)
                        .map_err(std::io::Error::other)
                        .and_then(|conn| {
                            let tls = rustls::StreamOwned::new(conn, stream);
                            handle(tls, &dir, &hooks, &health)
                        }),
                };
            });
        }
    });
    Server {
        port,
        hooks,
        health,
    }
}

fn handle<S: Read + Write>(
    stream: S,
    dir: &std::path::Path,
    hooks: &Mutex<Vec<String>>,
    health: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let h = header.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let (status, text) = if request.starts_with("POST /hook") {
            hooks
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            (200, "ok")
        } else {
            health.fetch_add(1, Ordering::SeqCst);
            if dir.join("down").exists() {
                (503, "down")
            } else {
                (200, "up")
            }
        };
        let out = reader.get_mut();
        write!(
            out,
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{text}",
            text.len()
        )?;
        out.flush()?;
    }
}
