//! Helpers shared by the integration tests.

/// Real git, independent of the machine's configuration.
pub mod git;
/// A small HTTP server on loopback.
pub mod loopback;
/// A JSON-RPC client for `bmad lsp`.
pub mod lsp;
/// A pseudo-terminal.
pub mod pty;
/// `bmad serve` and an HTTP client for it.
pub mod web;

use std::path::Path;
use std::process::{Command, Output};

/// The phases of the seed example, in the order they run.
pub const SEED_PHASES: [&str; 6] = [
    "ideation",
    "architecture",
    "sprint_planning",
    "development",
    "testing",
    "deployment",
];

/// The path of an agent script under tests/fixtures/agents.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agents")
        .join(name)
        .display()
        .to_string()
}

/// `story` declarations of a DAG: each id, with the story it comes after.
pub fn stories(dag: &[(&str, Option<&str>)]) -> String {
    let mut src = String::new();
    for (id, after) in dag {
        let after = after.map_or(String::new(), |a| format!("  after \"{a}\"\n"));
        src.push_str(&format!(
            "story \"{id}\" backend {{\n  title \"story {id}\"\n{after}}}\n"
        ));
    }
    src
}

/// The state store at `path` once the bmad under test has written it: a test that opened
/// it first would make it itself, racing bmad's own first open.
pub fn store_once_written(path: &Path) -> Option<bmad::state::Store> {
    let written = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    written
        .then(|| bmad::state::Store::open(path).ok())
        .flatten()
}

/// Runs the real `bmad` binary with these arguments from the package root.
pub fn bmad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the bmad binary runs")
}

/// Runs `bmad` with the arguments and a file path.
pub fn bmad_on(args: &[&str], file: &Path) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    let file = file.to_str().expect("utf-8 path");
    all.push(file);
    bmad(&all)
}

/// Every diagnostic of a check, rendered without colour, plus the count line.
pub fn rendered(checked: &bmad::Checked) -> String {
    let mut out = String::new();
    for d in &checked.diagnostics {
        out.push_str(&bmad::render::render(
            d,
            &checked.sources,
            bmad::render::RenderOptions::default(),
        ));
    }
    let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = checked.diagnostics.len() - errors;
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    out
}

/// Checks `src` (it must be clean) and runs it in `workspace`: real backends on the wall
/// clock, or every agent simulated on a paused clock.
pub fn run_in(src: &str, workspace: &Path, simulate: bool) -> bmad::runtime::Report {
    run_checked(bmad::check_text("run.bmad", src), workspace, simulate, 1)
}

/// Runs a checked workflow (it must be clean) in `workspace` with `seed`: real backends
/// on the wall clock, or every agent simulated on a paused clock.
pub fn run_checked(
    checked: bmad::Checked,
    workspace: &Path,
    simulate: bool,
    seed: u64,
) -> bmad::runtime::Report {
    assert!(!checked.has_errors(), "{}", rendered(&checked));
    let options = bmad::runtime::RunOptions {
        seed,
        workspace: workspace.to_path_buf(),
        simulate,
        ..Default::default()
    };
    let runner = bmad::runtime::Runner::new(checked.program, options).expect("runnable");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(simulate)
        .build()
        .expect("a runtime");
    rt.block_on(runner.run())
}

/// A new temporary directory holding one file `name` with `text`; the directory lives as
/// long as the returned guard.
pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join(name);
    std::fs::write(&file, text).expect("the file is written");
    (dir, file)
}

/// Runs `program ARGS` from the package root with `input` on its stdin.
pub fn run_with_stdin(program: &str, args: &[&str], input: &str) -> Output {
    run_with_stdin_bytes(program, args, input.as_bytes())
}

/// Runs `program ARGS` from the package root with `input` (any bytes) on its stdin.
pub fn run_with_stdin_bytes(program: &str, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written from a thread: a program that answers while it reads must not deadlock.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("the program runs");
    let _ = writer.join();
    out
}
