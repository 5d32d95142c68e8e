//! What `bmad run` shows while it runs: JSON log lines, plain lines off a terminal, and a
//! live progress line on a terminal (a real pseudo-terminal here).

mod common;

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

#[cfg(unix)]
#[test]
fn on_a_terminal_a_progress_line_shows_the_run() {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new file descriptors into the integers we pass.
    let made = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(made, 0, "a pseudo-terminal");
    // SAFETY: both descriptors were just opened and are owned by these files alone.
    let (mut master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    let ws = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args([
            "run",
            "--simulate",
            "examples/seed-product.bmad",
            "--workspace",
        ])
        .arg(ws.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(slave)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut shown = vec![0; 1 << 16];
    let n = master.read(&mut shown).unwrap();
    let shown = String::from_utf8_lossy(&shown[..n]);
    assert!(shown.contains("tasks done"), "{shown}");
    assert!(shown.contains("\u{1b}[2K"), "redrawn in place: {shown}");
}
