//! TLS on loopback, through the real binary: a health check and a probe step against a
//! server with a self-signed certificate, trusted through `ca_file` and refused without it
//! (the failure names the certificate); an alert webhook over https trusting the
//! certificate through SSL_CERT_FILE; the checker's word on an unreadable `ca_file`.

use crate::common::loopback::{TlsServer, serve_tls};
use crate::harness::fill;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

/// `bmad ARGS` with `env`, in `ws`, its log at info.
fn bmad_in(ws: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmad"));
    cmd.args(args)
        .args(["--workspace", ws.to_str().unwrap()])
        .current_dir(ws)
        .env("BMAD_LOG", "info")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("bmad runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A workflow file in `ws` from `src` with `{port}` filled.
fn workflow(ws: &Path, tls: &TlsServer, src: &str) -> String {
    let file = ws.join("watch.bmad");
    std::fs::write(&file, fill(src, &[("port", &tls.server.port)])).unwrap();
    file.display().to_string()
}

#[test]
fn an_https_check_is_trusted_through_its_ca_file_and_refused_without_it() {
    let ws = tempfile::tempdir().unwrap();
    let tls = serve_tls(ws.path().to_path_buf());
    let file = workflow(
        ws.path(),
        &tls,
        r#"
        monitor api {
          health trusted get "https://localhost:{port}/health" every 200ms timeout 2s expect 200 ca_file "ca.pem"
        }
        monitor stranger {
          health untrusted get "https://127.0.0.1:{port}/health" every 200ms timeout 2s expect 200
        }
        "#,
    );
    let out = bmad_in(ws.path(), &["monitor", &file, "--for", "3s"], &[]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    // Trusted: the requests got through the handshake, and the check never failed.
    assert!(tls.server.health.load(Ordering::SeqCst) >= 5, "{all}");
    assert!(!all.contains("api/trusted critical"), "{all}");
    // Refused, with a message that names the certificate and the way out.
    assert!(
        all.contains(
            "stranger/untrusted critical: certificate not trusted: `127.0.0.1`'s certificate is not signed by a trusted root"
        ),
        "{all}"
    );
    assert!(all.contains("give the check a `ca_file`"), "{all}");
}

#[test]
fn an_https_probe_step_passes_with_its_ca_file_and_fails_naming_the_certificate_without() {
    let ws = tempfile::tempdir().unwrap();
    let tls = serve_tls(ws.path().to_path_buf());
    let trusted = workflow(
        ws.path(),
        &tls,
        r#"
        phase smoke {
          get "https://localhost:{port}/health" expect 200 timeout 2s ca_file "ca.pem"
        }
        "#,
    );
    let out = bmad_in(ws.path(), &["run", &trusted], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let untrusted = workflow(
        ws.path(),
        &tls,
        r#"
        phase smoke {
          get "https://localhost:{port}/health" expect 200 timeout 2s
        }
        "#,
    );
    let out = bmad_in(ws.path(), &["run", &untrusted], &[]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("certificate not trusted"), "{all}");
}

#[test]
fn an_alert_reaches_an_https_webhook_trusted_through_ssl_cert_file() {
    let ws = tempfile::tempdir().unwrap();
    let tls = serve_tls(ws.path().to_path_buf());
    std::fs::write(ws.path().join("down"), "").unwrap();
    let file = workflow(
        ws.path(),
        &tls,
        r#"
        monitor api {
          health http get "https://localhost:{port}/health" every 200ms timeout 2s expect 200 ca_file "ca.pem" => alert "https://localhost:{port}/hook"
        }
        "#,
    );
    let ca = tls.ca.clone();
    let out = bmad_in(
        ws.path(),
        &["monitor", &file, "--for", "2s"],
        &[("SSL_CERT_FILE", &ca)],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let hooks = tls.server.hooks.lock().unwrap().clone();
    assert!(
        hooks.iter().any(|h| h.contains("health check api/http")),
        "{hooks:?}\n{all}"
    );
}

#[test]
fn the_checker_names_an_unreadable_ca_file_and_one_on_a_tcp_probe() {
    let ws = tempfile::tempdir().unwrap();
    let file = ws.path().join("watch.bmad");
    std::fs::write(
        &file,
        r#"
monitor api {
  health web get "https://localhost:8443/health" ca_file "missing.pem"
  health db tcp "localhost:5432" ca_file "missing.pem"
}
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["check", file.to_str().unwrap()])
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("bmad::io"), "{all}");
    assert!(all.contains("cannot read the CA file"), "{all}");
    assert!(all.contains("missing.pem"), "{all}");
    assert!(all.contains("bmad::unknown-setting"), "{all}");
    assert!(all.contains("has no certificate to trust"), "{all}");
}

#[test]
fn fmt_keeps_a_ca_file() {
    let ws = tempfile::tempdir().unwrap();
    let file = ws.path().join("watch.bmad");
    std::fs::write(
        &file,
        "monitor api {\n    health web get \"https://localhost:8443/health\"  ca_file \"ca.pem\"   expect 200\n}\nphase p { get \"https://localhost:8443/\" ca_file \"ca.pem\" }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["fmt", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let formatted = std::fs::read_to_string(&file).unwrap();
    assert!(
        formatted.contains(
            "  health web get \"https://localhost:8443/health\" ca_file \"ca.pem\" expect 200\n"
        ),
        "{formatted}"
    );
    assert!(
        formatted.contains("get \"https://localhost:8443/\" ca_file \"ca.pem\""),
        "{formatted}"
    );
}

#[test]
fn a_ca_file_that_is_a_device_is_refused_at_once() {
    crate::harness::Test::new()
        .workflow(
            r#"
            agent dev { backend exec "true" }
            workflow w { start build }
            phase build { get "https://127.0.0.1:1/health" expect 200 ca_file "/dev/zero" }
            "#,
        )
        .args(&["check", "flow.bmad"])
        .status(1)
        .stderr_contains("cannot read the CA file `/dev/zero`: it is not a regular file")
        .run();
}
