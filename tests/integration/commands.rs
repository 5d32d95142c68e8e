//! The commands agree with each other (issue 26 item 3): files, directories and `-` alike;
//! errors that name their file; global flags after the subcommand; `--help` texts whose
//! claims about output streams and formats a real run bears out; examples in every help;
//! completions and the manual page.

use crate::common;
use crate::harness::Test;

const HELLO: &str = include_str!("../../examples/hello.bmad");

#[test]
fn check_takes_directories_and_stdin_as_fmt_does() {
    Test::new()
        .at_root()
        .args(&["check", "examples"])
        .stderr_contains("checked 5 files: 0 errors")
        .run();
    Test::new()
        .at_root()
        .args(&["check", "-"])
        .stdin(HELLO)
        .stderr_contains("checked 1 file: 0 errors")
        .run();
    Test::new()
        .args(&["check", "."])
        .status(2)
        .stderr_contains("no `.bmad` file in `.`")
        .run();
    Test::new()
        .at_root()
        .args(&["graph", "-", "--only", "phases"])
        .stdin(HELLO)
        .stdout_contains("flowchart")
        .run();
}

#[test]
fn a_missing_file_is_named_by_every_command() {
    for command in [
        &["check"][..],
        &["fmt"],
        &["fmt", "--check"],
        &["graph"],
        &["run", "--simulate"],
    ] {
        let mut args = command.to_vec();
        args.push("missing.bmad");
        Test::new()
            .args(&args)
            .status(2)
            .stderr_contains("missing.bmad")
            .run();
    }
}

/// A simulated run of hello.bmad in a new workspace; the workspace and the run's id.
fn one_run() -> (tempfile::TempDir, String) {
    let ws = tempfile::tempdir().unwrap();
    let out = common::bmad(&[
        "run",
        "--simulate",
        "examples/hello.bmad",
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let list = common::bmad(&[
        "runs",
        "--format",
        "json",
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    let first = String::from_utf8_lossy(&list.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let run: serde_json::Value = serde_json::from_str(&first).unwrap();
    (ws, run["id"].as_str().unwrap().to_string())
}

#[test]
fn store_flags_are_taken_after_the_subcommand() {
    let (ws, id) = one_run();
    let ws = ws.path().to_str().unwrap();
    for args in [
        &["runs", "show", &id, "--workspace", ws][..],
        &["runs", "--workspace", ws, "show", &id],
        &["runs", "log", &id, "--workspace", ws],
    ] {
        let out = common::bmad(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The help of `bmad ARGS... --help`.
fn help(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--help");
    let out = common::bmad(&all);
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn every_line_is_json(text: &str) -> bool {
    !text.trim().is_empty()
        && text
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
}

#[test]
fn what_each_help_says_of_streams_and_formats_is_what_a_run_does() {
    // check: human diagnostics to stderr, JSON lines to stdout (stderr with --emit ir),
    // the IR as one JSON document on stdout.
    let text = help(&["check"]);
    assert!(text.contains("Rendered for people (to stderr)"), "{text}");
    assert!(
        text.contains("One JSON object per line (to stdout; to stderr with --emit ir)"),
        "{text}"
    );
    assert!(text.contains("Print the IR as JSON to stdout"), "{text}");
    let warned = Test::new().workflow("agent lonely {\n  backend sim\n}\n");
    let dir = warned.path().to_path_buf();
    let human = common::bmad_on(&["check"], &dir.join("flow.bmad"));
    assert!(human.stdout.is_empty() && !human.stderr.is_empty());
    let json = common::bmad_on(&["check", "--format", "json"], &dir.join("flow.bmad"));
    assert!(every_line_is_json(&String::from_utf8_lossy(&json.stdout)));
    let ir = common::bmad_on(
        &["check", "--format", "json", "--emit", "ir"],
        &dir.join("flow.bmad"),
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&ir.stdout).is_ok());
    assert!(every_line_is_json(&String::from_utf8_lossy(&ir.stderr)));
    drop(warned);

    // runs: everything to stdout; JSON lines for the list and the log, one document for
    // `show`.
    let text = help(&["runs"]);
    assert!(text.contains("(both to stdout)"), "{text}");
    assert!(
        text.contains("one object per line for the list and the log, one document for `show`"),
        "{text}"
    );
    let (ws, id) = one_run();
    let ws = ws.path().to_str().unwrap();
    let list = common::bmad(&["runs", "--workspace", ws]);
    assert!(!list.stdout.is_empty() && list.stderr.is_empty());
    let list = common::bmad(&["runs", "--workspace", ws, "--format", "json"]);
    assert!(every_line_is_json(&String::from_utf8_lossy(&list.stdout)));
    let show = common::bmad(&["runs", "show", &id, "--workspace", ws]);
    assert!(!show.stdout.is_empty() && show.stderr.is_empty());
    let show = common::bmad(&["runs", "show", &id, "--workspace", ws, "--format", "json"]);
    assert!(
        String::from_utf8_lossy(&show.stdout).trim().lines().count() > 1,
        "pretty"
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&show.stdout).is_ok());
    let log = common::bmad(&["runs", "log", &id, "--workspace", ws, "--format", "json"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{log}"
    );

    // run: the log to stderr (JSON lines with --log-format json), the report to stdout.
    let text = help(&["run"]);
    assert!(text.contains("How to log the run to stderr"), "{text}");
    assert!(text.contains("One JSON object per line"), "{text}");
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
    assert!(every_line_is_json(&String::from_utf8_lossy(&out.stderr)));
    assert!(String::from_utf8_lossy(&out.stdout).contains("makespan"));

    // monitor: the log to stderr, the summary to stdout.
    let text = help(&["monitor"]);
    assert!(text.contains("How to log to stderr"), "{text}");
    let ws = tempfile::tempdir().unwrap();
    let out = common::bmad(&[
        "monitor",
        "--simulate",
        "--for",
        "1h",
        "examples/seed-operations.bmad",
        "--log-format",
        "json",
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    assert!(!out.stdout.is_empty());

    // fmt: `-` formats stdin to stdout.
    let text = help(&["fmt"]);
    assert!(text.contains("`-` formats stdin to stdout"), "{text}");
    Test::new()
        .args(&["fmt", "-"])
        .stdin(HELLO)
        .stdout(HELLO)
        .stderr("")
        .run();
}

#[test]
fn every_command_help_ends_with_examples() {
    let top = help(&[]);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 14, "{commands:?}");
    for command in &commands {
        let text = help(&[command]);
        assert!(text.contains("Examples:\n  bmad "), "{command}: {text}");
    }
}

#[test]
fn completions_and_the_manual_page_are_printed() {
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef bmad"),
        ("fish", "complete -c bmad"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        Test::new()
            .args(&["completions", shell])
            .stdout_contains(mark)
            .stdout_contains("monitor")
            .run();
    }
    Test::new().args(&["man"]).stdout_contains(".TH bmad").run();
    let ran = Test::new().args(&["man", "--dir", "man"]).run();
    assert!(ran.path().join("man/bmad-run.1").exists());
}
