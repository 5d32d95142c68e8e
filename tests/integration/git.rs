//! `backend git` with real git: `bmad run` in a temporary repository commits each story's
//! work on its branch, runs the `pr` command, merges it into the checked-out branch (the
//! user's own edits stay), reports what the lane merged, keeps the worktree of a story the
//! `pr` command failed, and leaves a workspace that is not a repository (or one its
//! repository ignores) as it was. How delivery behaves is in the delivery module.

use crate::common;
use crate::harness::fill;

use bmad::model::Backend;
use std::path::Path;

use common::git::{Ran, git, repo, said, text};

/// A repository on `main` with a first commit of `README`, and that commit's id.
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
    fill(
        r#"
        agent dev {
          backend exec "{implement_sh}" stdin timeout 30s
        }
        agent git_manager {
          backend git pr "echo {branch} {base} {story} {title} >> \"$PRS\""
        }
        story "1" backend {
          title "Signaling server"
          create "/src/story-1.txt"
        }
        story "2" frontend {
          title "Call screen"
          create "/src/story-2.txt"
        }
        phase development {
          for story in stories max 2 {
            dev: implement
            git_manager: create_pr
          }
        }
        {then}"#,
        &[("implement_sh", &implement_sh()), ("then", &then)],
    )
}

/// `bmad run` with the tests' git environment.
fn run(flow: &str, ws: &Path, extra: &[&str]) -> Ran {
    common::git::run(flow, ws, extra, &[])
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
    let flow = fill(
        r#"
        agent dev {
          backend exec "{implement_sh}" stdin
        }
        story "1" backend {
          title "x"
        }
        phase development {
          for story in stories {
            dev: implement
          }
        }
        "#,
        &[("implement_sh", &implement_sh())],
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
