//! Every script is bounded, whatever it does: `sleep` stops at the deadline, values nested
//! in themselves stop at the stack's bound and are never printed, the memory its values
//! take is bounded (in the binary, which counts allocations), a script agent stops at its
//! task's `timeout`, SIGTERM and Ctrl-C stop a run whose script is blocking, and a panic
//! inside an evaluation is the evaluation's failure, never the process's.

use crate::harness::{DEADLINE, wait_until};
use bmad::script::{Scripts, standard_scope};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Evaluates `code` as a check of a workflow with `settings` (rhai settings lines).
fn eval(settings: &str, code: &str) -> Result<rhai::Dynamic, bmad::script::EvalError> {
    let src = format!("settings {{\n{settings}\n}}\ncheck c = ```\n{code}\n```\n");
    let checked = bmad::check_text("t.bmad", &src);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let dir = tempfile::tempdir().unwrap();
    let (scripts, _) = Scripts::new(&checked.program, dir.path().to_path_buf());
    let check = &checked.program.checks[0];
    let bmad::model::CheckBody::Script(script) = &check.body else {
        panic!("a script check");
    };
    scripts.eval(script, &mut standard_scope())
}

/// Runs `bmad run` on `flow` in a fresh workspace; its output, exit code and the report.
fn run(flow: &str) -> (String, Option<i32>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.bmad");
    std::fs::write(&file, flow).unwrap();
    let report = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", "--log-format", "json", "--workspace"])
        .arg(dir.path().join("ws"))
        .arg("--report")
        .arg(&report)
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&report).unwrap_or_else(|_| "null".into());
    (
        text,
        out.status.code(),
        serde_json::from_str(&json).unwrap(),
    )
}

#[test]
fn sleep_stops_at_the_deadline_and_a_huge_one_does_not_panic() {
    for code in [
        "sleep(3600); true",
        "sleep(1e300); true",
        "sleep(1e308 * 10.0)",
    ] {
        let e = eval("  script_timeout 200ms", code).unwrap_err();
        assert_eq!(e.limit, Some("script_timeout"), "{code}: {}", e.message);
    }
    // Nothing to wait for: returns at once.
    assert!(eval("", "sleep(-5); sleep(0.0); true").is_ok());
    assert!(eval("", "sleep(0.01); true").is_ok());
}

/// Builds a value nested `depth` times in itself, then does `then` with it.
fn nested(depth: usize, then: &str) -> String {
    format!("let a = []; for i in 0..{depth} {{ a = [a]; }} {then}")
}

#[test]
fn comparing_or_printing_a_value_nested_in_itself_stops_at_the_stack_bound() {
    // On a thread of 8 MiB (a main thread's), where the comparison would overflow the
    // stack and abort the process.
    let worker = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            let settings = "  script_timeout 30s\n  script_max_operations 100_000_000";
            let mut said = Vec::new();
            for then in ["a == a", "to_string(a)", "`${a}`", "a.contains(a)"] {
                said.push(eval(settings, &nested(3_000, then)).map(|_| ()));
            }
            said
        })
        .unwrap();
    let said = worker.join().expect("the thread survives");
    // The evaluation runs on a stack sized from its limits: the comparison, which
    // recurses through the engine, stops at the engine's share of it or succeeds; printing
    // recurses natively, within the stack kept free for it.
    for result in &said {
        if let Err(e) = result {
            assert!(e.message.contains("nested too deeply"), "{}", e.message);
        }
    }
}

#[test]
fn a_panic_in_an_evaluation_is_its_failure() {
    let checked = bmad::check_text("t.bmad", "check c = `true`\n");
    let sandbox = bmad::script::Sandbox::for_program(&checked.program, ".".into());
    let mut engine = bmad::script::engine(&sandbox);
    engine.register_fn("boom", || -> bool { panic!("a host function broke") });
    let ast = engine.compile("boom()").unwrap();
    let limits = sandbox.limits.clone();
    let time = bmad::script::TimeLimit::of(&limits);
    let e = bmad::script::evaluate(&engine, &ast, &mut standard_scope(), &limits, time, vec![])
        .unwrap_err();
    assert!(e.message.contains("a host function broke"), "{}", e.message);
}

#[test]
fn a_script_agent_stops_at_its_task_timeout_and_the_run_goes_on_to_report() {
    let flow = r#"
settings {
  script_timeout 1h
}
agent sleeper {
  backend script `sleep(3600); true`
}
phase p {
  sleeper: wait {
    timeout 1s
  }
}
"#;
    let started = Instant::now();
    let (out, code, _) = run(flow);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("limit `timeout`"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(60), "{out}");
}

#[test]
fn values_too_deep_to_print_and_too_much_memory_fail_the_task_not_the_process() {
    let flow = r#"
settings {
  script_timeout 30s
  script_max_operations 100_000_000
  script_max_memory 64MB
}
agent returns_deep {
  backend script `let a = []; for i in 0..400 { a = [a]; } a`
}
agent hoarder {
  backend script `let s = "x"; s.pad(1000000, "y"); let m = #{}; for i in 0..1000 { m["k" + i] = s + i; } true`
}
phase p {
  parallel {
    returns_deep: give
    hoarder: hoard
  }
}
"#;
    let (out, code, report) = run(flow);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("nests more than 256 levels deep"), "{out}");
    assert!(
        out.contains("more than 64MB (limit `script_max_memory`)"),
        "{out}"
    );
    assert_eq!(report["ok"], false, "{report}");
}

/// Starts `bmad run` on `flow` in `dir`, waits until the run's store has the event `under_way`
/// (the step that blocks has begun), sends `signal`, and gives back its exit code and
/// output.
fn stop_while_blocked(
    dir: &Path,
    flow: &str,
    under_way: &str,
    signal: i32,
) -> (Option<i32>, String) {
    let file = dir.join("flow.bmad");
    std::fs::write(&file, flow).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", "--log-format", "json", "--workspace"])
        .arg(dir.join("ws"))
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The step is recorded as it begins; its script blocks right after (a signal that came
    // first would still stop it: the cancel stays).
    let state = dir.join("ws/.bmad/state.db");
    let began = wait_until(DEADLINE, || {
        let Some(store) = crate::common::store_once_written(&state) else {
            return false;
        };
        let run = store
            .runs()
            .ok()
            .and_then(|r| r.first().map(|r| r.id.clone()));
        run.and_then(|id| store.events(&id).ok())
            .is_some_and(|events| events.iter().any(|e| e.kind == under_way))
    });
    assert!(began, "no {under_way} in the run's store");
    // SAFETY: kill(2) on the child's pid; no memory involved.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn sigterm_and_ctrl_c_stop_a_run_whose_scripts_block() {
    // A condition on the run's own thread, and a script agent on a blocking thread.
    let condition = "settings {\n  script_timeout 1h\n}\nagent a {\n  backend script `true`\n}\nphase p {\n  if `sleep(3600); true` {\n    a: go\n  }\n}\n";
    let agent = "settings {\n  script_timeout 1h\n}\nagent a {\n  backend script `loop { sleep(1); }`\n}\nphase p {\n  a: go\n}\n";
    for (flow, under_way, signal, code) in [
        (condition, "phase_started", libc::SIGTERM, 143),
        (agent, "task_started", libc::SIGTERM, 143),
        (condition, "phase_started", libc::SIGINT, 130),
        (agent, "task_started", libc::SIGINT, 130),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (got, out) = stop_while_blocked(dir.path(), flow, under_way, signal);
        assert_eq!(got, Some(code), "{out}");
        assert!(out.contains("run interrupted"), "{out}");
    }
}

/// Scripts that build a chain `depth` levels deep of closures, each capturing the one
/// before, in various shapes, each giving `true`.
fn chains(depth: usize) -> Vec<String> {
    [
        "let f = || 1; for i in 0..D { let g = f; f = || g.call(); } true",
        "fn k(a, b) { a } let f = Fn(\"k\"); for i in 0..D { let g = f; f = Fn(\"k\").curry(|| g); } true",
        "let a = []; for i in 0..D { let b = a; a = [|| b]; } true",
        "let m = #{}; for i in 0..D { let b = m; m = #{ f: || b }; } true",
    ]
    .iter()
    .map(|s| s.replace('D', &depth.to_string()))
    .collect()
}

#[test]
fn deep_closure_chains_end_their_task_never_the_process() {
    // 150,000 levels take more stack to drop than a 64 MiB thread has (a debug build
    // aborted with a stack overflow before the stack was sized from the limits).
    let raised = "  script_timeout 60s\n  script_max_operations 100_000_000";
    for code in chains(150_000) {
        let flow = format!(
            "settings {{\n{raised}\n}}\nagent a {{\n  backend script `{code}`\n}}\nphase p {{\n  a: go\n}}\n"
        );
        let (out, code_, _) = run(&flow);
        assert_eq!(code_, Some(0), "{code}: {out}");
    }
    // Given back, such a chain is refused, and dropped where it was built.
    let flow = format!(
        "settings {{\n{raised}\n}}\nagent a {{\n  backend script `let f = || 1; for i in 0..150000 {{ let g = f; f = || g.call(); }} f`\n}}\nphase p {{\n  a: go\n}}\n"
    );
    let (out, code, _) = run(&flow);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("nests more than 256 levels deep"), "{out}");
    // With the default operations limit, the operations end it (the time raised so that a
    // busy machine cannot end it first).
    let flow = "settings {\n  script_timeout 60s\n}\nagent a {\n  backend script `let f = || 1; for i in 0..100000000 { let g = f; f = || g.call(); } true`\n}\nphase p {\n  a: go\n}\n";
    let (out, code, _) = run(flow);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("limit `script_max_operations`"), "{out}");
}

#[test]
fn a_condition_on_a_small_stack_builds_and_drops_a_deep_chain() {
    // Evaluated from a thread of 2 MiB: the evaluation moves to a thread with the stack
    // its limits need, and what it leaves behind is shallow.
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let settings = "  script_timeout 60s\n  script_max_operations 100_000_000";
            let mut said = Vec::new();
            for code in chains(100_000) {
                said.push(eval(settings, &code).map(|v| v.as_bool()));
            }
            said.push(
                eval(
                    settings,
                    "let a = []; for i in 0..100000 { let b = a; a = [|| b]; } a",
                )
                .map(|_| Ok(true)),
            );
            said
        })
        .unwrap();
    let said = worker.join().expect("the thread survives");
    for result in &said[..4] {
        assert_eq!(result.as_ref().ok(), Some(&Ok(true)), "{result:?}");
    }
    let e = said[4]
        .as_ref()
        .expect_err("a deep value is not given back");
    assert!(e.message.contains("nests more than 256"), "{}", e.message);
}

#[test]
fn the_repl_keeps_no_variable_too_deep_to_drop() {
    let input = "settings {\n  script_max_operations 100_000_000\n  script_timeout 60s\n}\nlet f = || 1; for i in 0..150000 { let g = f; f = || g.call(); }\ntype_of(f)\n1 + 1\n";
    let out = crate::common::run_with_stdin_bytes(
        env!("CARGO_BIN_EXE_bmad"),
        &["repl"],
        input.as_bytes(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("\"()\"\n2\n"), "{text}");
}

#[test]
fn a_machine_that_refuses_the_large_stack_still_runs_scripts_bounded() {
    // Under a 3 GB address-space limit the stack the default limits want (about 10 GB) is
    // refused: the command's threads start on a smaller one, and an evaluation runs on the
    // largest stack the system gives with `script_max_memory` lowered to fit it.
    let dir = tempfile::tempdir().unwrap();
    let raised = "  script_timeout 60s\n  script_max_operations 100_000_000";
    for (name, code) in [
        (
            "small",
            "let a = []; for i in 0..1000 { a.push(i); } a.len() > 10".to_string(),
        ),
        ("deep", chains(150_000).remove(0)),
    ] {
        let file = dir.path().join(format!("{name}.bmad"));
        let flow = format!(
            "settings {{\n{raised}\n}}\nagent a {{\n  backend script `{code}`\n}}\nphase p {{\n  a: go\n}}\n"
        );
        std::fs::write(&file, flow).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 3000000 && exec \"$0\" run --state none \"$1\"")
            .arg(env!("CARGO_BIN_EXE_bmad"))
            .arg(&file)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + String::from_utf8_lossy(&out.stdout).as_ref();
        assert_eq!(out.status.code(), Some(0), "{name}: {text}");
    }
}
