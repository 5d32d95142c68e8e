//! Delivery on a real repository: `bmad run` on a small project in a real git repository,
//! with real programs as agents (tests/fixtures/agents/deliver-*.sh) and the project's own
//! test command as QA. Each story works in its own worktree, a dependent story starts from
//! the integration branch once its dependency merged, everything a story changed is
//! committed, and the merge lane verifies each merge before the branch moves.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::git::{GIT_ENV, git};

/// A repository on `main` holding tests/fixtures/project, committed; its first commit.
fn project() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/project");
    copy_dir(&from, dir.path());
    let first = common::git::init(dir.path(), "the project");
    (dir, first)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `bmad run FLOW --workspace WS --report REPORT` with the test's git environment and
/// `PROMPTS` (where the dev agent leaves its prompts); the output and the report.
fn run(flow: &str, ws: &Path, prompts: &Path) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.bmad");
    std::fs::write(&file, flow).unwrap();
    let report = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(&file)
        .arg("--workspace")
        .arg(ws)
        .arg("--report")
        .arg(&report)
        .envs(GIT_ENV)
        .env("GIT_CEILING_DIRECTORIES", ws.parent().unwrap())
        .env("PROMPTS", prompts)
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

/// Five stories, two at a time: `bye` depends on `hello` and inserts its line next to
/// hello's; `version` changes a file it does not declare; `item-x` forgets half of its
/// change on its first attempt; `item-x` and `item-y` each pass alone but not together.
fn workflow() -> String {
    format!(
        r#"agent dev {{
  backend exec "sh {dev}" stdin timeout 60s
}}
agent qa {{
  backend exec "sh {qa}" timeout 60s
}}
story "hello" backend {{
  title "Say hello"
  modify "/lib.sh" "add hello"
  create "/tests/hello.sh"
  accept "hello greets by name"
}}
story "bye" backend {{
  title "Say bye"
  after "hello"
  modify "/lib.sh" "add bye, next to hello"
  create "/tests/bye.sh"
}}
story "version" backend {{
  title "Release 1.1.0"
  modify "/VERSION"
}}
story "item-x" backend {{
  title "Item x"
  create "/items/item-x.txt"
  modify "/count.txt"
}}
story "item-y" backend {{
  title "Item y"
  create "/items/item-y.txt"
  modify "/count.txt"
}}
phase development {{
  for story in stories max 2 {{
    repeat max 3 {{
      dev: implement {{
        context story
      }}
      qa: validate
    }} until approved
  }}
}}
"#,
        dev = common::fixture("deliver-dev.sh"),
        qa = common::fixture("deliver-qa.sh"),
    )
}

fn events<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

#[test]
fn stories_are_isolated_committed_whole_and_merged_through_a_verified_lane() {
    let (ws, first) = project();
    let prompts = tempfile::tempdir().unwrap();
    let (out, report) = run(&workflow(), ws.path(), prompts.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["max_concurrent"], 2, "{report}");
    let mut done: Vec<&str> = report["stories_done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    done.sort();
    assert_eq!(done, ["bye", "hello", "item-x", "item-y", "version"]);

    // main has every change, and the checkout is main, clean, with the files.
    assert_eq!(git(ws.path(), &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git(ws.path(), &["status", "--porcelain"]), "");
    let lib = std::fs::read_to_string(ws.path().join("lib.sh")).unwrap();
    assert!(
        lib.contains("hello() {") && lib.contains("bye() {") && lib.contains("greet() {"),
        "{lib}"
    );
    let changelog = std::fs::read_to_string(ws.path().join("CHANGELOG.md")).unwrap();
    assert!(changelog.contains("## 1.1.0"), "{changelog}");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("count.txt")).unwrap(),
        "3\n"
    );

    // Every commit the lane made on main passes the project's tests: each is a merge of
    // one story, verified before main moved to it.
    let lane = git(
        ws.path(),
        &["rev-list", "--first-parent", &format!("{first}..main")],
    );
    let lane: Vec<&str> = lane.lines().collect();
    assert_eq!(lane.len(), 5, "one merge per story: {lane:?}");
    let check = tempfile::tempdir().unwrap();
    let at = check.path().join("at");
    git(
        ws.path(),
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            at.to_str().unwrap(),
            &first,
        ],
    );
    for commit in &lane {
        let parents = git(ws.path(), &["rev-list", "--parents", "-n", "1", commit]);
        assert_eq!(parents.split(' ').count(), 3, "a merge commit: {parents}");
        git(&at, &["checkout", "-q", "--detach", commit]);
        let tested = Command::new("sh")
            .arg("test.sh")
            .current_dir(&at)
            .output()
            .unwrap();
        assert!(
            tested.status.success(),
            "the tests fail at {commit}: {}",
            text(&tested)
        );
    }
    git(
        ws.path(),
        &["worktree", "remove", "--force", at.to_str().unwrap()],
    );

    // The dependent story started from main with hello merged: no conflict, bye's line
    // right after hello's.
    let hello_line = lib.find("hello() {").unwrap();
    assert!(lib[hello_line..].contains("bye() {"), "{lib}");

    // The undeclared file was committed with its story.
    let committed = events(&report, "story_committed");
    let version = committed.iter().find(|e| e["story"] == "version").unwrap();
    let files: Vec<&str> = version["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files, ["CHANGELOG.md", "VERSION"]);
    let message = git(ws.path(), &["log", "-1", "--format=%B", "bmad/story-hello"]);
    assert!(
        message
            .starts_with("Story hello: Say hello\n\nAcceptance criteria:\n- hello greets by name")
            && message.contains("Bmad-Attempts: 1"),
        "{message}"
    );

    // item-x's first attempt was incomplete: QA rejected it with the test's words and the
    // file it had not changed, and its second prompt carried both.
    let rejected = events(&report, "task_finished")
        .into_iter()
        .filter(|e| e["agent"] == "qa" && e["ok"] == false && e["story"] == "item-x")
        .count();
    assert!(rejected >= 1, "{report}");
    let second = std::fs::read_to_string(prompts.path().join("item-x-2.txt")).unwrap();
    assert!(
        second.contains("QA feedback on the last attempt: the tests fail")
            && second.contains("count.txt says 1, items/ has 2")
            && second.contains("not changed yet: /count.txt"),
        "{second}"
    );

    // item-x and item-y pass alone but not together: the second to merge was verified on
    // the merged result, sent back with QA's words and merged on its next attempt.
    let returned = events(&report, "story_returned");
    assert_eq!(returned.len(), 1, "{returned:?}");
    let again = returned[0]["story"].as_str().unwrap();
    assert!(again == "item-x" || again == "item-y", "{again}");
    let reason = returned[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("`qa: validate` rejected the merged result")
            && reason.contains("count.txt says 2, items/ has 3"),
        "{reason}"
    );
    let merged = events(&report, "story_merged");
    assert_eq!(merged.len(), 5);
    assert!(
        merged.iter().any(|e| e["verified"] == true),
        "the lane verified merges: {merged:?}"
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("stories       5 done, 0 blocked"), "{table}");

    // Nothing is left behind: no worktree but the checkout, no .bmad/worktrees.
    let worktrees = git(ws.path(), &["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "{worktrees}"
    );
    assert!(!ws.path().join(".bmad/worktrees").exists());
}
