//! What `bmad run` shows while it runs: JSON log lines, plain lines off a terminal, and a
//! live progress line on a terminal (a real pseudo-terminal here).

use crate::common;
use crate::common::pty;

#[test]
fn json_logs_are_one_object_per_line_with_the_run_events() {
    let ws = tempfile::tempdir().unwrap();
    let out = common::bmad(&[
        "run",
        "--simulate",
        "examples/hello.bmad",
        "--log-format",
        "json",
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| e["fields"]["event"].as_str())
        .collect();
    assert!(
        names.starts_with(&["run_started", "note", "phase_started", "task_started"]),
        "{names:?}"
    );
    assert_eq!(names.last(), Some(&"phase_finished"));
    let task = events
        .iter()
        .find(|e| e["fields"]["event"] == "task_finished")
        .unwrap();
    assert_eq!(task["span"]["phase"], "ideation", "inside the phase's span");
    assert_eq!(task["fields"]["at_ms"], 1_200_000, "virtual time");
}

#[test]
fn off_a_terminal_the_run_is_logged_in_plain_lines() {
    let ws = tempfile::tempdir().unwrap();
    let out = common::bmad(&[
        "run",
        "--simulate",
        "examples/hello.bmad",
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[20m] analyst: requirements ok"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no terminal codes: {stderr}");
}

#[test]
fn on_a_terminal_a_progress_line_shows_the_run() {
    let ws = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"));
    command
        .args([
            "run",
            "--simulate",
            "examples/seed-product.bmad",
            "--workspace",
        ])
        .arg(ws.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let mut term = pty::Pty::spawn(command);
    assert!(term.child.wait().unwrap().success());
    term.expect(0, "0 tasks done · analyst: brainstorming, market_analysis");
    term.expect(0, "1 task done · pm: validate_business_value");
    let shown = term.raw();
    assert!(shown.contains("\u{1b}[2K"), "redrawn in place: {shown}");
}

/// A real run whose simulated agent takes its 20 minutes on the wall clock: the line
/// names the agent and its task, and Ctrl-C clears it before the report (issue 26 item 5).
#[test]
fn the_progress_line_names_the_running_task_and_ctrl_c_clears_it() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("input")).unwrap();
    std::fs::write(ws.path().join("input/idea.md"), "An idea.\n").unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"));
    command
        .args(["run", "--allow-sim", "examples/hello.bmad", "--workspace"])
        .arg(ws.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let mut term = pty::Pty::spawn(command);
    term.expect(0, "ideation · 0 tasks done · analyst: requirements");
    term.send("\x03");
    let status = term.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let end = term.expect(0, "run interrupted");
    let raw = term.screen.lock().unwrap()[..end].to_vec();
    let raw = String::from_utf8_lossy(&raw);
    // The line's last drawing, then the first words after it (the report's).
    let drawn = raw.rfind("tasks done").unwrap();
    let report = drawn + raw[drawn..].find("interrupted").unwrap();
    let cleared = raw[drawn..].find("\u{1b}[2K").map(|i| drawn + i);
    assert!(
        cleared.is_some_and(|c| c < report),
        "the line is cleared before the report: {raw:?}"
    );
}
