//! `backend git` with real git: `bmad run` in a temporary repository commits each story onto
//! its own branch without touching the user's checkout, runs the `pr` command, merges the
//! branches, and refuses a workspace that is not a repository.

mod common;

use bmad::syntax::ast::Backend;
use std::path::Path;
use std::process::{Command, Output};

/// Environment that makes git (the test's and the one bmad runs) independent of the
/// machine: no user or system configuration, a fixed identity.
const GIT_ENV: [(&str, &str); 6] = [
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Test"),
    ("GIT_AUTHOR_EMAIL", "test@example.com"),
    ("GIT_COMMITTER_NAME", "Test"),
    ("GIT_COMMITTER_EMAIL", "test@example.com"),
];

/// Runs git in `dir`; its trimmed output.
fn git(dir: &Path, args: &[&str]) -> String {
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

/// A repository on `main` with a first commit of `README`, and that commit's id.
fn repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["symbolic-ref", "HEAD", "refs/heads/main"]);
    std::fs::write(dir.path().join("README"), "hello\n").unwrap();
    git(dir.path(), &["add", "README"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    let first = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, first)
}

fn implement_sh() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agents/implement.sh")
        .display()
        .to_string()
}

/// Two independent stories: an exec dev agent writes `src/story-<id>.txt` (its prompt),
/// a git manager commits each story and records the branch in `prs.txt`; `then` follows.
fn workflow(then: &str) -> String {
    format!(
        r#"agent dev {{
  backend exec "{}" stdin timeout 30s
}}
agent git_manager {{
  backend git pr "echo {{branch}} {{base}} {{story}} {{title}} >> prs.txt"
}}
story "1" backend {{
  title "Signaling server"
  create "/src/story-1.txt"
}}
story "2" frontend {{
  title "Call screen"
  create "/src/story-2.txt"
}}
phase development {{
  for story in stories max 2 {{
    dev: implement
    git_manager: create_pr
  }}
}}
{then}"#,
        implement_sh()
    )
}

/// `bmad run FLOW --workspace WS --report REPORT` with the test's git environment; the
/// output and the report.
fn run(flow: &str, ws: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.bmad");
    std::fs::write(&file, flow).unwrap();
    let report = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .args(extra)
        .arg(&file)
        .arg("--workspace")
        .arg(ws)
        .arg("--report")
        .arg(&report)
        .envs(GIT_ENV)
        // A temporary directory inside some repository must not count as one.
        .env("GIT_CEILING_DIRECTORIES", ws.parent().unwrap())
        .env("NO_COLOR", "1")
        .output()
        .expect("bmad runs");
    let json = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (out, json)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn backend_git_parses_with_its_options_in_any_order() {
    let src = r#"agent git_manager {
  backend git base "develop" pr "gh pr create --head {branch}"
}
agent git {
  backend git
  tools git
}
phase p {
  git_manager: merge_to_main
  git: merge_to_main
}
"#;
    let checked = bmad::check_text("git.bmad", src);
    assert!(!checked.has_errors(), "{}", common::rendered(&checked));
    let backend = |name: &str| checked.program.agent(name).unwrap().backend.clone();
    match backend("git_manager") {
        Some(Backend::Git {
            pr: Some(pr),
            base: Some(base),
        }) => {
            assert_eq!(pr.value, "gh pr create --head {branch}");
            assert_eq!(base.value, "develop");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        backend("git"),
        Some(Backend::Git {
            pr: None,
            base: None
        })
    );
    let broken = bmad::check_text("bad.bmad", "agent a {\n  backend gitx\n}\n");
    assert!(broken.has_errors());
}

#[test]
fn each_story_gets_a_branch_with_its_changes_and_the_checkout_stays_as_it_was() {
    let (ws, first) = repo();
    // The user's own edits: one staged, one not; no story declares them.
    std::fs::write(ws.path().join("README"), "hello\nmy edit\n").unwrap();
    git(ws.path(), &["add", "README"]);
    std::fs::write(ws.path().join("scratch.txt"), "mine\n").unwrap();
    let (out, report) = run(&workflow(""), ws.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The two stories ran side by side.
    assert_eq!(report["max_concurrent"], 2, "{report}");
    assert_eq!(report["stories_done"].as_array().unwrap().len(), 2);
    for (id, title) in [("1", "Signaling server"), ("2", "Call screen")] {
        let branch = format!("bmad/story-{id}");
        let file = format!("src/story-{id}.txt");
        // A child of the user's commit, with exactly the story's file.
        assert_eq!(git(ws.path(), &["rev-parse", &format!("{branch}^")]), first);
        let changed = git(
            ws.path(),
            &["diff-tree", "--no-commit-id", "--name-only", "-r", &branch],
        );
        assert_eq!(changed, file);
        let committed = git(ws.path(), &["show", &format!("{branch}:{file}")]);
        let written = std::fs::read_to_string(ws.path().join(&file)).unwrap();
        assert_eq!(committed, written.trim_end());
        assert!(
            committed.contains(&format!("Story {id} (")) && committed.contains(title),
            "{committed}"
        );
        let subject = git(ws.path(), &["log", "-1", "--format=%s", &branch]);
        assert_eq!(subject, format!("Story {id}: {title}"));
    }
    // The checkout: same branch, same commit, the user's staged and unstaged edits intact.
    assert_eq!(git(ws.path(), &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git(ws.path(), &["rev-parse", "HEAD"]), first);
    assert_eq!(
        git(ws.path(), &["status", "--porcelain", "-uall"]),
        "M  README\n?? prs.txt\n?? scratch.txt\n?? src/story-1.txt\n?? src/story-2.txt"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("README")).unwrap(),
        "hello\nmy edit\n"
    );
    // The pr command ran once per story with the branch, base, story and title.
    let prs = std::fs::read_to_string(ws.path().join("prs.txt")).unwrap();
    let mut lines: Vec<&str> = prs.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "bmad/story-1 main 1 Signaling server",
            "bmad/story-2 main 2 Call screen"
        ]
    );
}

#[test]
fn merge_to_main_merges_the_story_branches_into_the_checked_out_branch() {
    let (ws, first) = repo();
    let flow = workflow("phase release after development {\n  git_manager: merge_to_main\n}\n");
    let (out, _) = run(&flow, ws.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(git(ws.path(), &["symbolic-ref", "HEAD"]), "refs/heads/main");
    // main now has both stories' commits; the story files are committed and clean.
    for id in ["1", "2"] {
        let branch = format!("bmad/story-{id}");
        git(ws.path(), &["merge-base", "--is-ancestor", &branch, "HEAD"]);
    }
    git(ws.path(), &["merge-base", "--is-ancestor", &first, "HEAD"]);
    assert_eq!(
        git(ws.path(), &["status", "--porcelain", "-uall"]),
        "?? prs.txt"
    );
    let tracked = git(ws.path(), &["ls-files"]);
    assert_eq!(tracked, "README\nsrc/story-1.txt\nsrc/story-2.txt");
}

#[test]
fn a_workspace_that_is_not_a_git_repository_fails_the_run_clearly() {
    let ws = tempfile::tempdir().unwrap();
    let flow = workflow("phase release after development {\n  git_manager: merge_to_main\n}\n");
    let (out, report) = run(&flow, ws.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("run failed: phase `release`: merge_to_main: the workspace")
            && said.contains("is not a git repository"),
        "{said}"
    );
    // Each story's create_pr failed with the same reason, so the stories are blocked.
    let blocked = report["stories_blocked"].as_array().unwrap();
    assert_eq!(blocked.len(), 2, "{report}");
    let reasons: Vec<&str> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .all(|r| r.starts_with("create_pr: the workspace") && r.contains("not a git")),
        "{reasons:?}"
    );
}

#[test]
fn a_failing_pr_command_fails_the_story_after_its_branch_is_committed() {
    let (ws, _) = repo();
    std::fs::create_dir_all(ws.path().join("src")).unwrap();
    std::fs::write(ws.path().join("src/a.txt"), "a\n").unwrap();
    let flow = r#"agent git_manager {
  backend git pr "echo no remote >&2; exit 4"
}
story "a" backend {
  create "/src/a.txt"
}
phase development {
  for story in stories {
    git_manager: create_pr
  }
}
"#;
    let (out, report) = run(flow, ws.path(), &[]);
    // A run that ends with a blocked story exits 3.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(report["stories_blocked"][0], "a", "{report}");
    let reason = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["reason"].as_str())
        .unwrap();
    assert!(
        reason.contains("onto `bmad/story-a`")
            && reason.contains("but the pr command")
            && reason.contains("exit status: 4")
            && reason.contains("no remote"),
        "{reason}"
    );
    git(ws.path(), &["rev-parse", "--verify", "bmad/story-a"]);
}

#[test]
fn the_standard_git_manager_is_real_git_and_simulated_with_simulate() {
    let (ws, _) = repo();
    std::fs::create_dir_all(ws.path().join("web")).unwrap();
    std::fs::write(ws.path().join("web/page.html"), "<p>hi</p>\n").unwrap();
    let flow = r#"import std.roles
story "7" frontend {
  title "Landing page"
  create "/web/page.html"
}
phase development {
  for story in stories {
    git_manager: create_pr
  }
}
"#;
    let (out, _) = run(flow, ws.path(), &["--simulate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(git(ws.path(), &["branch", "--list", "bmad/*"]), "");
    let (out, _) = run(flow, ws.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let changed = git(
        ws.path(),
        &[
            "diff-tree",
            "--no-commit-id",
            "--name-only",
            "-r",
            "bmad/story-7",
        ],
    );
    assert_eq!(changed, "web/page.html");
}
