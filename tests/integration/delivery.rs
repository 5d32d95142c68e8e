//! Delivery on a real repository: `bmad run` on a small project in a real git repository,
//! with real programs as agents (tests/fixtures/agents/deliver-*.sh) and the project's own
//! test command as QA. Each story works in its own worktree, a dependent story starts from
//! the integration branch once its dependency merged, everything a story changed is
//! committed, and the merge lane verifies each merge before the branch moves; a conflict
//! sends a story back; a rejected story, or one that changed nothing, is blocked; a kept
//! worktree and the user's own edits are never overwritten.

use crate::common;
use crate::harness::fill;

use std::path::Path;
use std::process::{Command, Output};

use common::git::{Ran, git, repo, said, text};

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

/// `bmad run` with the tests' git environment, the dev agent leaving its prompts in
/// `prompts`; its output and report.
fn run_with_prompts(flow: &str, ws: &Path, prompts: &Path) -> (Output, serde_json::Value) {
    let ran = common::git::run(flow, ws, &[], &[("PROMPTS", prompts)]);
    (ran.out, ran.report)
}

/// `bmad run` with the tests' git environment.
fn run(flow: &str, ws: &Path, extra: &[&str]) -> Ran {
    common::git::run(flow, ws, extra, &[])
}

/// Five stories, two at a time: `bye` depends on `hello` and inserts its line next to
/// hello's; `version` changes a file it does not declare; `item-x` forgets half of its
/// change on its first attempt; `item-x` and `item-y` each pass alone but not together.
fn workflow() -> String {
    fill(
        r#"
        agent dev {
          backend exec "sh {dev}" stdin timeout 60s
        }
        agent qa {
          backend exec "sh {qa}" timeout 60s
        }
        story "hello" backend {
          title "Say hello"
          modify "/lib.sh" "add hello"
          create "/tests/hello.sh"
          accept "hello greets by name"
        }
        story "bye" backend {
          title "Say bye"
          after "hello"
          modify "/lib.sh" "add bye, next to hello"
          create "/tests/bye.sh"
        }
        story "version" backend {
          title "Release 1.1.0"
          modify "/VERSION"
        }
        story "item-x" backend {
          title "Item x"
          create "/items/item-x.txt"
          modify "/count.txt"
        }
        story "item-y" backend {
          title "Item y"
          create "/items/item-y.txt"
          modify "/count.txt"
        }
        phase development {
          for story in stories max 2 {
            repeat max 3 {
              dev: implement {
                context story
              }
              qa: validate
            } until approved
          }
        }
        "#,
        &[
            ("dev", &common::fixture("deliver-dev.sh")),
            ("qa", &common::fixture("deliver-qa.sh")),
        ],
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
    let (out, report) = run_with_prompts(&workflow(), ws.path(), prompts.path());
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
        second.contains("(this story's git worktree, on branch bmad/story-item-x)")
            && second.contains("QA feedback on the last attempt: the tests fail")
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
    // The two ran side by side: their reasons, by story.
    let stories = ran.report["stories_blocked"].as_array().unwrap().clone();
    let reasons = ran.report["blocked_reasons"].as_array().unwrap().clone();
    let why = |story: &str| {
        let i = stories.iter().position(|s| s == story).unwrap();
        reasons[i].as_str().unwrap().to_string()
    };
    assert_eq!(stories.len(), 2, "{reasons:?}");
    assert!(
        why("rejected").starts_with("its last verdict did not approve it: not good"),
        "{reasons:?}"
    );
    assert!(
        why("idle").starts_with("it changed no file in its worktree"),
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
    let flow = fill(
        r#"
        agent dev {
          backend exec "echo attempt > work.txt"
        }
        agent qa {
          backend exec "test -e {ok}"
        }
        story "s" backend {
          title "again"
        }
        phase development {
          for story in stories {
            repeat max 1 {
              dev: implement
              qa: validate
            } until approved
          }
        }
        "#,
        &[("ok", &ok.display())],
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
