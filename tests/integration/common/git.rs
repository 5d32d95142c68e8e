//! Real git for the tests: commands in a directory with an environment that makes them
//! independent of the machine (no user or system configuration, a fixed identity), given to
//! `bmad` too.

use std::path::Path;
use std::process::{Command, Output};

/// The environment of the tests' git and of the git `bmad` runs.
pub const GIT_ENV: [(&str, &str); 6] = [
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Test"),
    ("GIT_AUTHOR_EMAIL", "test@example.com"),
    ("GIT_COMMITTER_NAME", "Test"),
    ("GIT_COMMITTER_EMAIL", "test@example.com"),
];

/// Runs git in `dir`; its trimmed output (a failure fails the test).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(GIT_ENV)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// Makes `dir` (with what it holds) a repository on `main` with one commit of everything;
/// that commit's id.
pub fn init(dir: &Path, message: &str) -> String {
    git(dir, &["init", "-q"]);
    git(dir, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A repository on `main` with a first commit of `README`, and that commit's id.
pub fn repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README"), "hello\n").unwrap();
    let first = init(dir.path(), "first");
    (dir, first)
}

/// What `bmad run` did: its output, its report, and the PRs its `pr` command opened (the
/// lines it wrote to `$PRS`).
pub struct Ran {
    /// How it exited and what it printed.
    pub out: Output,
    /// The `--report` JSON (null when none was written).
    pub report: serde_json::Value,
    /// The lines written to `$PRS`, sorted.
    pub prs: Vec<String>,
}

/// `bmad run FLOW --workspace WS --report REPORT ARGS` with the tests' git environment,
/// `PRS` set to a file for a `pr` command to write, and `env`.
pub fn run(flow: &str, ws: &Path, args: &[&str], env: &[(&str, &Path)]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.bmad");
    std::fs::write(&file, flow).unwrap();
    let report = dir.path().join("report.json");
    let prs = dir.path().join("prs.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .args(args)
        .arg(&file)
        .arg("--workspace")
        .arg(ws)
        .arg("--report")
        .arg(&report)
        .envs(GIT_ENV)
        // A temporary directory inside some repository must not count as one.
        .env("GIT_CEILING_DIRECTORIES", ws.parent().unwrap())
        .env("PRS", &prs)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .expect("bmad runs");
    let report = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let mut prs: Vec<String> = std::fs::read_to_string(&prs)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    prs.sort();
    Ran { out, report, prs }
}

/// What a command printed, standard output then standard error.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `field` of a report's events of kind `event` that have one.
pub fn said(report: &serde_json::Value, event: &str, field: &str) -> Vec<String> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == event)
        .filter_map(|e| e[field].as_str().map(str::to_string))
        .collect()
}
