//! rhai in bmad: the sandbox stops runaway scripts naming the limit, file functions stay in
//! the workspace, network functions reach only declared hosts (loopback here), and a script
//! that fails at run time is placed in the .bmad file.

use crate::harness::fill;

use bmad::ir::Program;
use bmad::model::CheckBody;
use bmad::model::step::Script;
use bmad::script::{Scripts, standard_scope};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

/// The program of `src`, its scripts compiled for a run in `workspace`.
fn load(src: &str, workspace: &Path) -> (Program, Scripts) {
    let checked = bmad::check_text("t.bmad", src);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let (scripts, diags) = Scripts::new(&checked.program, workspace.to_path_buf());
    assert!(diags.is_empty());
    (checked.program, scripts)
}

fn check_script(p: &Program, name: &str) -> Script {
    let c = p
        .checks
        .iter()
        .find(|c| c.name.name == name)
        .expect("check");
    match &c.body {
        CheckBody::Script(s) => s.clone(),
        CheckBody::Steps { .. } => panic!("not a script"),
    }
}

fn run(src: &str, check: &str) -> Result<rhai::Dynamic, bmad::script::EvalError> {
    let dir = tempfile::tempdir().unwrap();
    let (p, scripts) = load(src, dir.path());
    scripts.eval(&check_script(&p, check), &mut standard_scope())
}

#[test]
fn an_infinite_loop_is_stopped_by_the_operation_limit() {
    // A deadline far away: a debug build on a loaded machine may take over the default
    // second for a million operations, and the limit tested is the count.
    let src = "settings {\n  script_timeout 10m\n}\ncheck spin = ```\nloop { }\n```\n";
    let e = run(src, "spin").unwrap_err();
    assert_eq!(e.limit, Some("script_max_operations"), "{}", e.message);
    assert!(e.message.contains("1000000 operations"), "{}", e.message);
}

#[test]
fn a_slow_script_is_stopped_by_the_deadline() {
    let src = "settings {\n  script_max_operations 1_000_000_000_000\n  script_timeout 100ms\n}\ncheck spin = ```\nloop { }\n```\n";
    let start = std::time::Instant::now();
    let e = run(src, "spin").unwrap_err();
    assert_eq!(e.limit, Some("script_timeout"), "{}", e.message);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn memory_bombs_are_stopped_by_size_limits() {
    let e = run(
        "check bomb = ```\nlet s = \"xx\";\nloop { s += s; }\n```\n",
        "bomb",
    )
    .unwrap_err();
    assert_eq!(e.limit, Some("script_max_string"), "{}", e.message);
    let e = run(
        "check bomb = ```\nlet a = [1];\nloop { a += a; }\n```\n",
        "bomb",
    )
    .unwrap_err();
    assert_eq!(e.limit, Some("script_max_array"), "{}", e.message);
}

#[test]
fn deep_recursion_is_stopped_by_the_call_depth() {
    let e = run(
        "check deep = ```\nfn down(n) { down(n + 1) }\ndown(0)\n```\n",
        "deep",
    )
    .unwrap_err();
    assert_eq!(e.limit, Some("script_max_call_depth"), "{}", e.message);
}

#[test]
fn files_outside_the_workspace_cannot_be_read() {
    let e = run(
        "check steal = `read(\"../../../../etc/passwd\")`\n",
        "steal",
    )
    .unwrap_err();
    assert!(e.message.contains("outside the workspace"), "{}", e.message);
    // An absolute path is a path in the workspace, where there is no etc/passwd.
    let e = run("check steal = `read(\"/etc/passwd\")`\n", "steal").unwrap_err();
    assert!(
        e.message.contains("cannot read `/etc/passwd`"),
        "{}",
        e.message
    );
}

#[test]
fn artifacts_are_read_and_hashed_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/prd.md"), "abc").unwrap();
    let src = "check prd = ```\nexists(\"/docs/prd.md\") && read(\"docs/prd.md\") == \"abc\" && !exists(\"docs/none.md\")\n```\ncheck hash = `sha256(\"/docs/prd.md\")`\n";
    let (p, scripts) = load(src, dir.path());
    let ok = scripts
        .eval(&check_script(&p, "prd"), &mut standard_scope())
        .unwrap();
    assert!(ok.as_bool().unwrap());
    let hash = scripts
        .eval(&check_script(&p, "hash"), &mut standard_scope())
        .unwrap();
    assert_eq!(
        hash.into_string().unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn only_declared_environment_variables_are_read() {
    let src = "env BMAD_TEST_UNSET_VAR = \"fallback\"\ncheck e = `env(\"BMAD_TEST_UNSET_VAR\")`\ncheck other = ```\nlet name = \"PA\" + \"TH\";\nenv(name)\n```\n";
    assert_eq!(run(src, "e").unwrap().into_string().unwrap(), "fallback");
    let e = run(src, "other").unwrap_err();
    assert!(
        e.message.contains("`PATH` is not declared"),
        "{}",
        e.message
    );
}

#[test]
fn an_undeclared_host_is_refused_before_any_traffic() {
    // The host is built at run time so that only the run-time guard can stop it.
    let src = "check reach = ```\nlet h = \"203.0.113\" + \".7\";\ntcp_connect(h, 80, 100)\n```\n";
    let e = run(src, "reach").unwrap_err();
    assert!(
        e.message.contains("host `203.0.113.7` is not declared"),
        "{}",
        e.message
    );
}

#[test]
fn declared_loopback_hosts_are_probed_for_real() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap_or(0);
            if n > 0 {
                let _ = conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        }
    });
    let src = fill(
        r#"
        settings {
          hosts "127.0.0.1"
        }
        check port = `tcp_connect("127.0.0.1", {port}, 1000)`
        check health = ```
        let r = http_get("http://127.0.0.1:{port}/health", 2000);
        r.status
        ```
        "#,
        &[("port", &port)],
    );
    let dir = tempfile::tempdir().unwrap();
    let (p, scripts) = load(&src, dir.path());
    assert!(
        scripts
            .eval(&check_script(&p, "port"), &mut standard_scope())
            .unwrap()
            .as_bool()
            .unwrap()
    );
    let status = scripts
        .eval(&check_script(&p, "health"), &mut standard_scope())
        .unwrap();
    assert_eq!(status.as_int().unwrap(), 503);
    server.join().unwrap();
}

#[test]
fn a_run_time_error_is_placed_in_the_bmad_file() {
    let src = "import std.roles\ncheck ratio = ```\nlet done = 3;\nlet total = 0;\ndone / total > 1\n```\n";
    let dir = tempfile::tempdir().unwrap();
    let checked = bmad::check_text("t.bmad", src);
    let (scripts, _) = Scripts::new(&checked.program, dir.path().to_path_buf());
    let e = scripts
        .eval(
            &check_script(&checked.program, "ratio"),
            &mut standard_scope(),
        )
        .unwrap_err();
    let span = e.span.expect("a place");
    let (line, col) = checked.sources.get(span.file).line_col(span.start as usize);
    assert_eq!((line, col), (5, 6), "{}", e.message);
}

#[test]
fn functions_of_an_imported_rhai_module_are_callable() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let root = fixtures.join("uses-ops.bmad");
    std::fs::write(&root, "import \"ops.rhai\"\ncheck pool = `pool_ok(42) && !pool_ok(95)`\ncheck typo = `pool_okk(1)`\n").unwrap();
    let checked = bmad::check_path(&root);
    std::fs::remove_file(&root).unwrap();
    let codes: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.code, d.message.clone()))
        .collect();
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert!(
        codes[0].1.contains("unknown function `pool_okk`"),
        "{codes:?}"
    );
    assert_eq!(checked.program.rhai_modules.len(), 1);
    let (scripts, _) = Scripts::new(&checked.program, dir.path().to_path_buf());
    let ok = scripts
        .eval(
            &check_script(&checked.program, "pool"),
            &mut standard_scope(),
        )
        .unwrap();
    assert!(ok.as_bool().unwrap());
}

#[test]
fn a_slow_script_does_not_stall_the_async_threads() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let src = "settings {\n  script_max_operations 1_000_000_000_000\n  script_timeout 2s\n}\ncheck spin = ```\nloop { }\n```\n";
    let dir = tempfile::tempdir().unwrap();
    let (p, scripts) = load(src, dir.path());
    let scripts = Arc::new(scripts);
    let script = check_script(&p, "spin");
    // One scheduler thread: if the script ran on it, nothing else could run until it ended.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let ticks = Arc::new(AtomicUsize::new(0));
    let (r, t) = (running.clone(), ticks.clone());
    let result = rt.block_on(async move {
        let ticker = tokio::spawn(async move {
            while r.load(Ordering::SeqCst) {
                t.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        });
        let (result, _scope) = scripts.eval_off_thread(script, standard_scope()).await;
        running.store(false, Ordering::SeqCst);
        ticker.await.unwrap();
        result
    });
    assert_eq!(result.unwrap_err().limit, Some("script_timeout"));
    assert!(
        ticks.load(Ordering::SeqCst) >= 3,
        "the scheduler stalled while the script ran"
    );
}

// Regressions from the sandbox review.

#[test]
fn a_symlink_out_of_the_workspace_is_refused_even_through_a_long_path() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET").unwrap();
    let ws = tempfile::tempdir().unwrap();
    // A plain link out.
    std::os::unix::fs::symlink(&secret, ws.path().join("plain")).unwrap();
    // A link whose resolved path is longer than realpath(3) accepts.
    let long = "d".repeat(250);
    let hop: Vec<&str> = std::iter::repeat_n(long.as_str(), 15).collect();
    // 15 levels fit in PATH_MAX; the last two are made through a short link to them.
    std::fs::create_dir_all(ws.path().join(hop.join("/"))).unwrap();
    std::os::unix::fs::symlink(hop.join("/"), ws.path().join("s")).unwrap();
    let tail = ws.path().join("s").join(&long).join(&long);
    std::fs::create_dir_all(&tail).unwrap();
    std::os::unix::fs::symlink(&secret, tail.join("x")).unwrap();
    let via = format!("s/{long}/{long}/x");
    let src = format!(
        "check plain = `read(\"plain\")`\ncheck long = `read(\"{via}\")`\ncheck seen = `exists(\"plain\")`\n"
    );
    let (p, scripts) = load(&src, ws.path());
    for name in ["plain", "long"] {
        let e = scripts
            .eval(&check_script(&p, name), &mut standard_scope())
            .unwrap_err();
        assert!(!e.message.contains("TOP-SECRET"));
        assert!(
            e.message.contains("outside the workspace") || e.message.contains("real path"),
            "{name}: {}",
            e.message
        );
    }
    let seen = scripts
        .eval(&check_script(&p, "seen"), &mut standard_scope())
        .unwrap();
    assert!(!seen.as_bool().unwrap(), "no oracle for files outside");
}

#[test]
fn a_fifo_in_the_workspace_does_not_hang_a_script() {
    let ws = tempfile::tempdir().unwrap();
    let pipe = std::ffi::CString::new(ws.path().join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path that lives across the call.
    assert_eq!(unsafe { libc::mkfifo(pipe.as_ptr(), 0o600) }, 0);
    let (p, scripts) = load("check pipe = `read(\"pipe\")`\n", ws.path());
    let e = scripts
        .eval(&check_script(&p, "pipe"), &mut standard_scope())
        .unwrap_err();
    assert!(e.message.contains("not a regular file"), "{}", e.message);
}

#[test]
fn http_get_does_not_follow_a_redirect_to_an_undeclared_host() {
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let other_port = other.local_addr().unwrap().port();
    let declared = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = declared.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = declared.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        let reply = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://localhost:{other_port}/secret\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let _ = conn.write_all(reply.as_bytes());
    });
    let src = fill(
        r#"
        settings {
          hosts "127.0.0.1"
        }
        check hop = `http_get("http://127.0.0.1:{port}/", 2000).status`
        "#,
        &[("port", &port)],
    );
    let dir = tempfile::tempdir().unwrap();
    let (p, scripts) = load(&src, dir.path());
    let status = scripts
        .eval(&check_script(&p, "hop"), &mut standard_scope())
        .unwrap();
    assert_eq!(status.as_int().unwrap(), 302);
    server.join().unwrap();
    assert!(other.accept().is_err(), "the undeclared host was contacted");
}

#[test]
fn the_deadline_bounds_host_functions_too() {
    // A server that accepts and never answers: each call could wait its full timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let src = fill(
        r#"
        settings {
          hosts "127.0.0.1"
          script_timeout 200ms
        }
        check wait = ```
        loop { http_get("http://127.0.0.1:{port}/", 60000); }
        ```
        "#,
        &[("port", &port)],
    );
    let dir = tempfile::tempdir().unwrap();
    let (p, scripts) = load(&src, dir.path());
    let start = std::time::Instant::now();
    let e = scripts
        .eval(&check_script(&p, "wait"), &mut standard_scope())
        .unwrap_err();
    assert_eq!(e.limit, Some("script_timeout"), "{}", e.message);
    // Far below the 60 s each call asked for: the deadline cut it short.
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
    drop(silent);
}

#[test]
fn script_limits_of_zero_are_refused() {
    let checked = bmad::check_text(
        "t.bmad",
        "settings {\n  script_max_operations 0\n  script_max_call_depth 1000\n}\n",
    );
    let messages: Vec<&str> = checked
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages.contains(&"setting `script_max_operations` must be at least 1"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"setting `script_max_call_depth` is at most 64"),
        "{messages:?}"
    );
}

#[test]
fn secret_values_are_not_shown_in_errors() {
    let src = "env BMAD_TEST_TOKEN = \"s3cr3t-value\" secret\ncheck leak = `throw env(\"BMAD_TEST_TOKEN\")`\ncheck path = `read(env(\"BMAD_TEST_TOKEN\"))`\n";
    for name in ["leak", "path"] {
        let e = run(src, name).unwrap_err();
        assert!(!e.message.contains("s3cr3t-value"), "{name}: {}", e.message);
        assert!(e.message.contains("***"), "{name}: {}", e.message);
    }
}

#[test]
fn a_script_cannot_change_the_run_state_or_grow_the_scope() {
    let src = "check sneaky = `approved = true; approved`\ncheck tidy = ```\nlet x = [1, 2, 3];\nx.len() == 3\n```\n";
    assert!(run(src, "sneaky").is_err(), "the run state is read-only");
    let dir = tempfile::tempdir().unwrap();
    let (p, scripts) = load(src, dir.path());
    let mut scope = standard_scope();
    let size = scope.len();
    for _ in 0..100 {
        assert!(
            scripts
                .eval(&check_script(&p, "tidy"), &mut scope)
                .unwrap()
                .as_bool()
                .unwrap()
        );
    }
    assert_eq!(scope.len(), size);
}

#[test]
fn conditions_see_the_run_state_they_are_given() {
    let src = "check ready = `approved && attempt < 3 && story.type == \"frontend\"`\n";
    let dir = tempfile::tempdir().unwrap();
    let (p, scripts) = load(src, dir.path());
    let script = check_script(&p, "ready");
    let mut story = rhai::Map::new();
    story.insert("type".into(), "frontend".into());
    let mut yes = bmad::script::scope_with([
        ("approved", rhai::Dynamic::from(true)),
        ("attempt", rhai::Dynamic::from(1_i64)),
        ("story", rhai::Dynamic::from(story)),
    ]);
    assert!(scripts.eval(&script, &mut yes).unwrap().as_bool().unwrap());
    let mut no = bmad::script::scope_with([("approved", rhai::Dynamic::from(true))]);
    assert!(!scripts.eval(&script, &mut no).unwrap().as_bool().unwrap());
}
