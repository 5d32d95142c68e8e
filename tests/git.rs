//! `backend git` with real git: `bmad run` in a temporary repository gives each story a
//! worktree and a branch, commits its work there, runs the `pr` command, merges it into the
//! checked-out branch through the lane (the user's own edits stay), sends a conflicting
//! story back to be done again on the new branch, keeps the worktree of a blocked story,
//! and leaves a workspace that is not a repository (or one its repository ignores) as it
//! was.

mod common;

use bmad::syntax::ast::Backend;
use std::path::Path;
use std::process::{Command, Output};

use common::git::{GIT_ENV, git};

/// A repository on `main` with a first commit of `README`, and that commit's id.
fn repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README"), "hello\n").unwrap();
    let first = common::git::init(dir.path(), "first");
    (dir, first)
}

fn implement_sh() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agents/implement.sh")
        .display()
        .to_string()
}

/// Two independent stories: an exec dev agent writes `src/story-<id>.txt` (its prompt),
/// a git manager commits each story and records the PR it would open in `$PRS`; `then`
/// follows.
fn workflow(then: &str) -> String {
    format!(
        r#"agent dev {{
  backend exec "{}" stdin timeout 30s
}}
agent git_manager {{
  backend git pr "echo {{branch}} {{base}} {{story}} {{title}} >> \"$PRS\""
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

/// What `bmad run` did: its output, its report, and the PRs its `pr` command opened.
struct Ran {
    out: Output,
    report: serde_json::Value,
    prs: Vec<String>,
}

/// `bmad run FLOW --workspace WS --report REPORT` with the test's git environment.
fn run(flow: &str, ws: &Path, extra: &[&str]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.bmad");
    std::fs::write(&file, flow).unwrap();
    let report = dir.path().join("report.json");
    let prs = dir.path().join("prs.txt");
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
        .env("PRS", &prs)
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

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The reasons and feedback of a report's events of kind `event`.
fn said(report: &serde_json::Value, event: &str, field: &str) -> Vec<String> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == event)
        .filter_map(|e| e[field].as_str().map(str::to_string))
        .collect()
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
fn each_story_is_committed_on_its_branch_and_merged_into_the_checkout() {
    let (ws, first) = repo();
    // The user's own edits: one staged, one not; no story touches them.
    std::fs::write(ws.path().join("README"), "hello\nmy edit\n").unwrap();
    git(ws.path(), &["add", "README"]);
    std::fs::write(ws.path().join("scratch.txt"), "mine\n").unwrap();
    let ran = run(&workflow(""), ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    // The two stories ran side by side, each in its own worktree.
    assert_eq!(ran.report["max_concurrent"], 2, "{}", ran.report);
    assert_eq!(ran.report["stories_done"].as_array().unwrap().len(), 2);
    let log = said(&ran.report, "task_finished", "feedback");
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
        assert!(
            committed.contains(&format!("Story {id} (")) && committed.contains(title),
            "{committed}"
        );
        let subject = git(ws.path(), &["log", "-1", "--format=%s", &branch]);
        assert_eq!(subject, format!("Story {id}: {title}"));
        // Merged into main, whose checkout has the file now.
        git(ws.path(), &["merge-base", "--is-ancestor", &branch, "main"]);
        let written = std::fs::read_to_string(ws.path().join(&file)).unwrap();
        assert_eq!(committed, written.trim_end());
        assert!(
            log.iter()
                .any(|l| l.starts_with(&format!("committed {file} onto `{branch}`"))),
            "{log:?}"
        );
    }
    // The checkout: still main, moved on by the two merges; the user's staged and unstaged
    // edits intact.
    assert_eq!(git(ws.path(), &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(
        git(
            ws.path(),
            &[
                "rev-list",
                "--count",
                "--first-parent",
                &format!("{first}..main")
            ]
        ),
        "2"
    );
    assert_eq!(
        git(ws.path(), &["status", "--porcelain", "-uall"]),
        "M  README\n?? scratch.txt"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("README")).unwrap(),
        "hello\nmy edit\n"
    );
    // The pr command ran once per story with the branch, base, story and title.
    assert_eq!(
        ran.prs,
        [
            "bmad/story-1 main 1 Signaling server",
            "bmad/story-2 main 2 Call screen"
        ]
    );
    assert!(!ws.path().join(".bmad/worktrees").exists());
}

#[test]
fn merge_to_main_reports_what_the_lane_merged() {
    let (ws, _) = repo();
    let flow = workflow("phase release after development {\n  git_manager: merge_to_main\n}\n");
    let ran = run(&flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    let main = git(ws.path(), &["rev-parse", "main"]);
    let said = said(&ran.report, "task_finished", "feedback");
    let merged = said
        .iter()
        .find(|s| s.starts_with("the merge lane merged 2 stories into `main`"))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(
        merged.contains(&main[..12]) && merged.contains('1') && merged.contains('2'),
        "{merged}"
    );
    let tracked = git(ws.path(), &["ls-files"]);
    assert_eq!(tracked, "README\nsrc/story-1.txt\nsrc/story-2.txt");
    assert_eq!(git(ws.path(), &["status", "--porcelain", "-uall"]), "");
}

#[test]
fn a_workspace_that_is_not_a_git_repository_fails_the_run_clearly() {
    let ws = tempfile::tempdir().unwrap();
    let flow = workflow("phase release after development {\n  git_manager: merge_to_main\n}\n");
    let ran = run(&flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(1), "{}", text(&ran.out));
    let said_out = text(&ran.out);
    assert!(
        said_out.contains("run failed: phase `release`: merge_to_main: the workspace")
            && said_out.contains("is not a git repository"),
        "{said_out}"
    );
    // The stories shared the workspace; each one's create_pr failed with the same reason,
    // so the stories are blocked.
    assert!(ws.path().join("src/story-1.txt").is_file());
    let blocked = ran.report["stories_blocked"].as_array().unwrap();
    assert_eq!(blocked.len(), 2, "{}", ran.report);
    let reasons = said(&ran.report, "story_blocked", "reason");
    assert!(
        reasons
            .iter()
            .all(|r| r.starts_with("create_pr: the workspace") && r.contains("not a git")),
        "{reasons:?}"
    );
}

#[test]
fn a_workspace_its_repository_ignores_is_not_delivered_through_git() {
    let (repo, first) = repo();
    std::fs::write(repo.path().join(".gitignore"), "scratch/\n").unwrap();
    let ws = repo.path().join("scratch/ws");
    std::fs::create_dir_all(&ws).unwrap();
    let flow = format!(
        "agent dev {{\n  backend exec \"{}\" stdin\n}}\nstory \"1\" backend {{\n  title \"x\"\n}}\n\
         phase development {{\n  for story in stories {{\n    dev: implement\n  }}\n}}\n",
        implement_sh()
    );
    let ran = run(&flow, &ws, &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    assert!(ws.join("src/story-1.txt").is_file());
    assert_eq!(git(repo.path(), &["rev-parse", "HEAD"]), first);
    assert_eq!(git(repo.path(), &["branch", "--list", "bmad/*"]), "");
}

#[test]
fn a_failing_pr_command_blocks_the_story_and_keeps_its_worktree() {
    let (ws, first) = repo();
    let flow = r#"agent dev {
  backend exec "mkdir -p src && echo a > src/a.txt"
}
agent git_manager {
  backend git pr "echo no remote >&2; exit 4"
}
story "a" backend {
  create "/src/a.txt"
}
phase development {
  for story in stories {
    dev: implement
    git_manager: create_pr
  }
}
"#;
    let ran = run(flow, ws.path(), &[]);
    // A run that ends with a blocked story exits 3.
    assert_eq!(ran.out.status.code(), Some(3), "{}", text(&ran.out));
    assert_eq!(ran.report["stories_blocked"][0], "a", "{}", ran.report);
    let reason = &said(&ran.report, "story_blocked", "reason")[0];
    assert!(
        reason.contains("onto `bmad/story-a`")
            && reason.contains("but the pr command")
            && reason.contains("exit status: 4")
            && reason.contains("no remote")
            && reason.contains("its work is kept in the worktree")
            && reason.contains("branch `bmad/story-a`"),
        "{reason}"
    );
    // The branch has the work; main did not move; the worktree is kept, named in the
    // report, with the work in it.
    let branch = git(ws.path(), &["rev-parse", "--verify", "bmad/story-a"]);
    assert_ne!(branch, first);
    assert_eq!(git(ws.path(), &["rev-parse", "main"]), first);
    let kept = reason
        .split("worktree `")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .unwrap();
    assert!(Path::new(kept).join("src/a.txt").is_file(), "{kept}");
    let worktrees = git(ws.path(), &["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        2,
        "{worktrees}"
    );
}

#[test]
fn a_conflict_sends_the_story_back_to_be_done_again_on_the_new_branch() {
    let (ws, first) = repo();
    // Both stories rewrite README: the second to merge conflicts with the first.
    let flow = r#"agent dev {
  backend exec "sleep 0.2; echo \"$BMAD_STORY\" > README; cat > prompt-$BMAD_ATTEMPT.txt" stdin
}
agent qa {
  backend exec "true"
}
story "x" backend {
  modify "/README"
}
story "y" backend {
  modify "/README"
}
phase development {
  for story in stories max 2 {
    repeat max 1 {
      qa: warm_up
    }
    repeat max 2 {
      dev: implement
      qa: validate
    } until approved
  }
}
"#;
    // (The loop with no verdict before the story's loop runs in full again: the attempts
    // carried over belong to the loop of verdicts.)
    let ran = run(flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    let returned = said(&ran.report, "story_returned", "reason");
    assert_eq!(returned.len(), 1, "{}", ran.report);
    assert!(
        returned[0].contains("merging onto `main` conflicts in README")
            && returned[0].contains("CONFLICT"),
        "{}",
        returned[0]
    );
    // The second story's next attempt started from main with the first merged, had the
    // conflict as its feedback, and merged.
    let story: Vec<_> = ran.report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "story_returned")
        .map(|e| e["story"].as_str().unwrap().to_string())
        .collect();
    let (again, other) = if story[0] == "x" {
        ("x", "y")
    } else {
        ("y", "x")
    };
    let prompt = git(
        ws.path(),
        &["show", &format!("bmad/story-{again}:prompt-2.txt")],
    );
    assert!(
        prompt.contains("QA feedback on the last attempt: merging onto `main` conflicts in README"),
        "{prompt}"
    );
    git(
        ws.path(),
        &[
            "merge-base",
            "--is-ancestor",
            &format!("bmad/story-{other}"),
            &format!("bmad/story-{again}"),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("README")).unwrap(),
        format!("{again}\n")
    );
    assert_eq!(
        git(
            ws.path(),
            &[
                "rev-list",
                "--count",
                "--first-parent",
                &format!("{first}..main")
            ]
        ),
        "2"
    );
    assert_eq!(git(ws.path(), &["status", "--porcelain", "-uall"]), "");
}

#[test]
fn the_standard_git_manager_is_real_git_and_simulated_with_simulate() {
    let (ws, _) = repo();
    let flow = r#"import std.roles
agent maker {
  backend exec "mkdir -p web && echo '<p>hi</p>' > web/page.html"
}
story "7" frontend {
  title "Landing page"
  create "/web/page.html"
}
phase development {
  for story in stories {
    maker: implement
    git_manager: create_pr
  }
}
"#;
    let ran = run(flow, ws.path(), &["--simulate"]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    assert_eq!(git(ws.path(), &["branch", "--list", "bmad/*"]), "");
    let ran = run(flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
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

#[test]
fn a_script_agent_in_a_story_reads_the_story_s_worktree() {
    let (ws, _) = repo();
    // The dev writes notes.txt in the story's worktree; the script QA reads it there (the
    // workspace has no such file until the story merges).
    let flow = r#"agent dev {
  backend exec "echo \"notes of $BMAD_STORY\" > notes.txt"
}
agent qa {
  backend script `#{ ok: exists("notes.txt") && read("notes.txt").contains(task.story), feedback: "no notes" }`
}
story "n1" backend {
  create "/notes.txt"
}
phase development {
  for story in stories {
    repeat max 2 {
      dev: implement
      qa: validate
    } until approved
  }
}
"#;
    let ran = run(flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    assert_eq!(ran.report["stories_done"][0], "n1", "{}", ran.report);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("notes.txt")).unwrap(),
        "notes of n1\n"
    );
}

#[test]
fn the_lane_verifies_again_only_the_verdicts_the_story_ran() {
    let (ws, _) = repo();
    // Two backend stories, merged one after the other: the second is verified again on the
    // merged result, by `qa` only; the frontend's e2e tester (which always rejects) never
    // runs for them.
    let flow = r#"agent dev {
  backend exec "sleep 0.2; echo \"$BMAD_STORY\" > \"$BMAD_STORY.txt\""
}
agent qa {
  backend exec "true"
}
agent e2e {
  backend exec "echo always fails; exit 1"
}
story "b1" backend {
  title "one"
}
story "b2" backend {
  title "two"
}
phase development {
  for story in stories max 2 {
    repeat max 1 {
      dev: implement
      match story.type {
        frontend => e2e: ui_test {
          tests e2e
        }
        _ => qa: validate
      }
    } until approved
  }
}
"#;
    let ran = run(flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    let merged = said(&ran.report, "story_merged", "story");
    assert_eq!(merged.len(), 2);
    let verified: Vec<bool> = ran.report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "story_merged")
        .map(|e| e["verified"].as_bool().unwrap())
        .collect();
    assert_eq!(verified, [false, true]);
    assert!(
        !said(&ran.report, "task_started", "agent").contains(&"e2e".to_string()),
        "{}",
        ran.report
    );
}

#[test]
fn a_story_its_last_verdict_rejected_or_that_changed_nothing_is_blocked_not_merged() {
    let (ws, first) = repo();
    let flow = r#"agent dev {
  backend exec "test \"$BMAD_STORY\" = idle || echo work > \"$BMAD_STORY.txt\""
}
agent qa {
  backend exec "test \"$BMAD_STORY\" != rejected || { echo 'VERDICT: rejected: not good'; }"
}
story "rejected" backend {
  title "no loop, QA says no"
}
story "idle" backend {
  title "does nothing"
}
phase development {
  for story in stories {
    dev: implement
    qa: validate
  }
}
"#;
    let ran = run(flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(3), "{}", text(&ran.out));
    let reasons = said(&ran.report, "story_blocked", "reason");
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].starts_with("its last verdict did not approve it: not good"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("it changed no file in its worktree"),
        "{reasons:?}"
    );
    assert_eq!(git(ws.path(), &["rev-parse", "main"]), first);
}

#[test]
fn agents_write_through_bmad_workspace_into_the_story_and_conditions_read_it() {
    let (ws, _) = repo();
    // The dev writes through $BMAD_WORKSPACE (the story's copy of the workspace); a check
    // in the story's body reads the file there.
    let flow = r#"agent dev {
  backend exec "mkdir -p \"$BMAD_WORKSPACE/out\" && echo made > \"$BMAD_WORKSPACE/out/$BMAD_STORY.txt\""
}
story "w1" backend {
  title "writes"
}
phase development {
  for story in stories {
    dev: implement
    check `exists("/out/w1.txt")`
  }
}
"#;
    let ran = run(flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    assert_eq!(git(ws.path(), &["show", "main:out/w1.txt"]), "made");
    assert_eq!(git(ws.path(), &["status", "--porcelain", "-uall"]), "");
}

#[test]
fn a_blocked_story_s_worktree_and_branch_stay_when_the_story_runs_again() {
    let (ws, _) = repo();
    let flag = tempfile::tempdir().unwrap();
    let ok = flag.path().join("ok");
    let flow = format!(
        r#"agent dev {{
  backend exec "echo attempt > work.txt"
}}
agent qa {{
  backend exec "test -e {}"
}}
story "s" backend {{
  title "again"
}}
phase development {{
  for story in stories {{
    repeat max 1 {{
      dev: implement
      qa: validate
    }} until approved
  }}
}}
"#,
        ok.display()
    );
    let ran = run(&flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(3), "{}", text(&ran.out));
    let reason = &said(&ran.report, "story_blocked", "reason")[0];
    let kept = reason
        .split("worktree `")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .unwrap()
        .to_string();
    assert!(Path::new(&kept).join("work.txt").is_file());
    // A new run (QA approves now): the kept worktree keeps its work on a branch renamed
    // aside, and the story runs in a new worktree.
    std::fs::write(&ok, "").unwrap();
    let ran = run(&flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(0), "{}", text(&ran.out));
    assert!(Path::new(&kept).join("work.txt").is_file());
    let on = git(Path::new(&kept), &["symbolic-ref", "--short", "HEAD"]);
    assert!(on.starts_with("bmad/story-s.before-"), "{on}");
    let notes = said(&ran.report, "note", "text");
    assert!(notes.iter().any(|n| n.contains("renamed")), "{notes:?}");
    assert_eq!(git(ws.path(), &["show", "main:work.txt"]), "attempt");
}

#[test]
fn a_user_edit_in_the_way_stops_the_lane_and_is_never_stashed() {
    let (ws, first) = repo();
    git(ws.path(), &["config", "merge.autoStash", "true"]);
    std::fs::write(ws.path().join("README"), "my own edit\n").unwrap();
    let flow = r#"agent dev {
  backend exec "echo from the story > README"
}
story "r" backend {
  modify "/README"
}
phase development {
  for story in stories {
    dev: implement
  }
}
"#;
    let ran = run(flow, ws.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(3), "{}", text(&ran.out));
    let reason = &said(&ran.report, "story_blocked", "reason")[0];
    assert!(
        reason.contains("`main` is checked out in") && reason.contains("cannot move there"),
        "{reason}"
    );
    // The user's edit is as they left it; main did not move; the story's work is on its
    // branch.
    assert_eq!(
        std::fs::read_to_string(ws.path().join("README")).unwrap(),
        "my own edit\n"
    );
    assert_eq!(git(ws.path(), &["rev-parse", "main"]), first);
    assert_eq!(
        git(ws.path(), &["show", "bmad/story-r:README"]),
        "from the story"
    );
    assert_eq!(git(ws.path(), &["stash", "list"]), "");
}
