//! A Temporal API key against a server that checks it: a TLS front of the dev server (ALPN
//! h2, a self-signed certificate) ends HTTP/2 and answers any gRPC call without the right
//! `authorization: Bearer <key>` with UNAUTHENTICATED, as Temporal Cloud does. With the
//! right key tasks run through coordinator and worker, and the key is in no output, no
//! file of the workspace and no input of an execution; with a wrong one the worker does
//! not start and the run pauses, both naming the refused key (never showing it).

use crate::harness::wait_until;
use crate::temporal::{Worker, dev_server, finished, ledger, setup, workflow};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A TLS front of `upstream` on a free loopback port (ALPN h2, a self-signed certificate
/// for `localhost` and `127.0.0.1` written to `dir/ca.pem`) that checks an API key as
/// Temporal Cloud does: it ends HTTP/2 here, answers a gRPC call whose `authorization` is
/// not `Bearer <key>` with UNAUTHENTICATED (trailers only), and forwards the others to
/// the dev server on one HTTP/2 connection per client connection, bodies and trailers
/// streaming both ways. Its port.
#[allow(deprecated)] // rustls's ring provider: see src/probe/tls.rs.
fn tls_front(upstream: String, key: &str, dir: &Path) -> u16 {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    std::fs::write(dir.join("ca.pem"), made.cert.pem()).unwrap();
    let cert_key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
        .expect("a private key");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], cert_key)
        .expect("a server configuration");
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let expected: std::sync::Arc<str> = format!("Bearer {key}").into();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                let expected = std::sync::Arc::clone(&expected);
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let _ = front_connection(tls, &upstream, expected).await;
                });
            }
        });
    });
    port
}

/// The body the front answers with: the dev server's, or none.
type FrontBody = http_body_util::combinators::BoxBody<hyper::body::Bytes, hyper::Error>;

/// Serves one client connection of the front: HTTP/2 over `tls`, each call checked
/// against `expected` and forwarded to `upstream` on one HTTP/2 connection.
async fn front_connection(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    upstream: &str,
    expected: std::sync::Arc<str>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::BodyExt;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let plain = tokio::net::TcpStream::connect(upstream).await?;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(plain)).await?;
    tokio::spawn(connection);
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut sender = sender.clone();
            let allowed = request
                .headers()
                .get("authorization")
                .is_some_and(|v| v.as_bytes() == expected.as_bytes());
            async move {
                if !allowed {
                    return Ok::<_, std::convert::Infallible>(grpc_status(16, "invalid API key"));
                }
                Ok(match sender.send_request(request).await {
                    Ok(answer) => answer.map(BodyExt::boxed),
                    Err(_) => grpc_status(14, "the upstream is unreachable"),
                })
            }
        });
    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await?;
    Ok(())
}

/// A gRPC answer of `code` with `message` and no body: trailers only.
fn grpc_status(code: u8, message: &str) -> hyper::Response<FrontBody> {
    use http_body_util::BodyExt;
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .header("grpc-status", code.to_string())
        .header("grpc-message", message.replace(' ', "%20"))
        .body(
            http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("a gRPC status")
}

/// The API key the TLS front expects.
const KEY: &str = "a-test-key-4f1c9e";

/// A `bmad worker` through the TLS front at `address` (CA `ca`) with API key `key`.
fn tls_worker(address: &str, ca: &str, key: &str, queue: &str, stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["worker", "--temporal", address, "--task-queue", queue])
        .args(["--temporal-ca", ca])
        .env("WORKER", "w1")
        .env("TEMPORAL_API_KEY", key)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("bmad worker starts")
}

/// `bmad run` of `file` in `ws` through the TLS front at `address` with API key `key`.
fn tls_run(file: &Path, ws: &Path, address: &str, ca: &str, key: &str, queue: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(file)
        .arg("--workspace")
        .arg(ws)
        .args(["--executor", &format!("temporal+tls://{address}")])
        .args(["--task-queue", queue, "--temporal-ca", ca])
        .env("NO_COLOR", "1")
        .env("TEMPORAL_API_KEY", key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bmad starts")
}

/// Whether any file under `dir` holds `needle`.
fn found_under(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let path = e.path();
        if path.is_dir() {
            if let Some(p) = found_under(&path, needle) {
                return Some(p);
            }
        } else if std::fs::read(&path)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        {
            return Some(path);
        }
    }
    None
}

/// Every payload's data in a history (`temporal workflow show -o json`), decoded.
fn decoded_payloads(value: &serde_json::Value, out: &mut String) {
    use base64::Engine;
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str()) {
                    ("data", Some(data)) => {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(data)
                            .unwrap_or_default();
                        out.push_str(&String::from_utf8_lossy(&bytes));
                    }
                    _ => decoded_payloads(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| decoded_payloads(v, out)),
        _ => {}
    }
}

#[test]
fn tasks_travel_over_tls_with_an_api_key() {
    let Some(server) = dev_server() else { return };
    let (dir, file, ws) = setup("ws");
    let port = tls_front(server.address.clone(), KEY, dir.path());
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let address = format!("127.0.0.1:{port}");
    let _w1 = Worker(tls_worker(&address, ca, KEY, "q5", Stdio::null()));
    let (ok, text) = finished(tls_run(&file, &ws, &address, ca, KEY, "q5"));
    assert!(ok, "{text}");
    assert!(
        ledger(&ws).iter().all(|l| l.ends_with(" w1")),
        "{:?}",
        ledger(&ws)
    );
    // The key is in no output, no file of the workspace, no input of an execution.
    assert!(!text.contains(KEY), "{text}");
    assert_eq!(found_under(&ws, KEY.as_bytes()), None);
    let listed = Command::new("temporal")
        .args([
            "workflow",
            "list",
            "--address",
            &server.address,
            "-o",
            "json",
        ])
        .output()
        .expect("temporal workflow list");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("a list");
    let ids: Vec<&str> = listed
        .as_array()
        .expect("executions")
        .iter()
        .filter_map(|e| e["execution"]["workflowId"].as_str())
        .collect();
    assert!(!ids.is_empty());
    for id in ids {
        let shown = Command::new("temporal")
            .args(["workflow", "show", "--address", &server.address])
            .args(["--workflow-id", id, "-o", "json"])
            .output()
            .expect("temporal workflow show");
        let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("a history");
        let mut payloads = String::new();
        decoded_payloads(&shown, &mut payloads);
        assert!(
            payloads.contains("workflow_sha256"),
            "the input: {payloads}"
        );
        assert!(!payloads.contains(KEY), "{payloads}");
        assert!(!shown.to_string().contains(KEY), "{shown}");
    }
}

#[test]
fn a_wrong_api_key_is_refused_by_name() {
    let Some(server) = dev_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("remote.bmad");
    let src = workflow().replace(
        "workflow remote",
        "settings {\n  transient_retries 1\n  transient_backoff 1s\n}\nworkflow remote",
    );
    std::fs::write(&file, src).unwrap();
    let port = tls_front(server.address.clone(), KEY, dir.path());
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let address = format!("127.0.0.1:{port}");
    // The worker does not start, and says why.
    let mut w = Worker(tls_worker(&address, ca, "wrong-key", "q6", Stdio::piped()));
    assert!(
        wait_until(Duration::from_secs(60), || w
            .0
            .try_wait()
            .ok()
            .flatten()
            .is_some()),
        "the worker ends"
    );
    let mut said = String::new();
    std::io::Read::read_to_string(&mut w.0.stderr.take().unwrap(), &mut said).unwrap();
    assert!(!w.0.wait().unwrap().success(), "{said}");
    assert!(said.contains("refused the API key"), "{said}");
    assert!(!said.contains("wrong-key"), "{said}");
    // The run pauses, naming the key as the reason.
    let out = tls_run(
        &file,
        &dir.path().join("ws"),
        &address,
        ca,
        "wrong-key",
        "q6",
    )
    .wait_with_output()
    .expect("bmad ends");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(4), "paused: {text}");
    assert!(text.contains("run paused"), "{text}");
    assert!(text.contains("refused the API key"), "{text}");
    assert!(!text.contains("wrong-key"), "{text}");
}
