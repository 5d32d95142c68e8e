//! BMAD-METHOD projects with the `bmad` binary: a run killed in the middle of a story
//! and resumed (what was done is not run again, the story in flight is), a run again
//! once everything is done (nothing runs), a person editing the status file during the
//! run (their edit is kept), and `bmad init --from-bmad` on each fixture format.

use crate::bmad_projects::{SPRINT, original, project, workflow};
use crate::common::bmad;
use crate::harness::{DEADLINE, wait_until};

use std::path::Path;
use std::process::{Command, Stdio};

fn read(ws: &Path, path: &str) -> String {
    std::fs::read_to_string(ws.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_run_killed_in_a_story_resumes_and_runs_no_done_story_again() {
    let ws = project("v6-sprint");
    let file = ws.path().join("flow.bmad");
    std::fs::write(&file, workflow(SPRINT, "1-3-password-reset", "-")).unwrap();
    let (f, w) = (file.to_str().unwrap(), ws.path().to_str().unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", f, "--workspace", w])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reached = wait_until(DEADLINE, || ws.path().join("interrupted").exists());
    // What the file says at the moment of the kill: 1-2 done, 1-3 in progress.
    let at_kill = read(ws.path(), SPRINT);
    child.kill().unwrap();
    child.wait().unwrap();
    // The developer left waiting goes.
    std::fs::write(ws.path().join("go"), "").unwrap();
    assert!(reached, "the run never reached 1-3");
    assert!(
        at_kill.contains("  1-2-account-management: done   #"),
        "{at_kill}"
    );
    assert!(
        at_kill.contains("  1-3-password-reset: in-progress\n"),
        "{at_kill}"
    );
    assert!(
        at_kill.contains("  2-1-personality-system: backlog\n"),
        "{at_kill}"
    );

    let resumed = bmad(&["run", f, "--workspace", w, "--resume"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", out(&resumed));
    assert!(out(&resumed).contains("resuming run"), "{}", out(&resumed));
    // 1-2 ended before the kill: built once; 1-3 was in flight: built again.
    assert_eq!(
        read(ws.path(), "ledger.txt"),
        "1-2-account-management\n1-3-password-reset\n1-3-password-reset\n2-1-personality-system\n"
    );
    let done = read(ws.path(), SPRINT);
    for key in [
        "1-2-account-management",
        "1-3-password-reset",
        "2-1-personality-system",
    ] {
        assert!(done.contains(&format!("  {key}: done")), "{done}");
    }

    // A new run of the finished project runs nothing: every story is done in its file.
    let again = bmad(&["run", f, "--workspace", w]);
    assert_eq!(again.status.code(), Some(0), "{}", out(&again));
    assert!(
        out(&again)
            .contains("story 2-1-personality-system is done in its BMAD project: not run again"),
        "{}",
        out(&again)
    );
    assert_eq!(read(ws.path(), "ledger.txt").lines().count(), 4);
}

#[test]
fn a_person_s_edit_to_the_status_file_during_the_run_is_kept() {
    let ws = project("v6-sprint");
    // While 1-2 is built, a person edits the file: a note, a renamed project, and 2-1
    // marked done by hand.
    let dev = crate::common::fixture("bmad-dev.sh");
    let edit = format!(
        "sh {dev} - - - && if [ \"$BMAD_STORY\" = 1-2-account-management ]; then \
         sed -i -e 's/^project: .*/project: Renamed By Hand/' \
         -e 's/2-1-personality-system: backlog/2-1-personality-system: done  # by Sam/' \
         {SPRINT} && echo '# Sam: reviewed the plan' >> {SPRINT}; fi"
    );
    let src = workflow(SPRINT, "-", "-").replace(
        &format!("\"sh {dev} {SPRINT} - -\" stdin"),
        &format!("{edit:?} stdin"),
    );
    assert!(src.contains("Renamed By Hand"), "{src}");
    let report = crate::common::run_in(&src, ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    let after = read(ws.path(), SPRINT);
    assert!(after.contains("\nproject: Renamed By Hand\n"), "{after}");
    assert!(after.ends_with("# Sam: reviewed the plan\n"), "{after}");
    // Their `done` is kept, and 2-1, done by hand before its turn, is not built (the run
    // does not touch its epic either).
    assert!(
        after.contains("  2-1-personality-system: done  # by Sam\n"),
        "{after}"
    );
    assert!(after.contains("  1-3-password-reset: done\n"), "{after}");
    assert!(after.contains("  epic-1: done\n"), "{after}");
    assert!(after.contains("  epic-2: backlog\n"), "{after}");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("ledger.txt")).unwrap(),
        "1-2-account-management\n1-3-password-reset\n"
    );
    assert_eq!(
        report.stories_done,
        ["1-2-account-management", "1-3-password-reset"]
    );
}

#[test]
fn init_from_bmad_writes_a_workflow_that_checks_and_runs_each_format() {
    for (name, says) in [
        (
            "v6-sprint",
            "a v6 project (sprint-status.yaml and its story files): 4 stories, 1 done",
        ),
        (
            "v6-stories",
            "a v6 spec folder in stories mode (stories.yaml): 3 stories, 1 done",
        ),
        (
            "v7-tickets",
            "a v7 ticket tree (tickets.toml and plans): 5 stories, 1 done",
        ),
    ] {
        let ws = project(name);
        let w = ws.path().to_str().unwrap();
        let init = bmad(&["init", "--from-bmad", w]);
        assert_eq!(init.status.code(), Some(0), "{name}: {}", out(&init));
        assert!(out(&init).contains(says), "{name}: {}", out(&init));
        let file = ws.path().join("workflow.bmad");
        let f = file.to_str().unwrap();
        let check = bmad(&["check", f]);
        assert_eq!(check.status.code(), Some(0), "{name}: {}", out(&check));
        let run = bmad(&["run", "--simulate", f, "--workspace", w]);
        assert_eq!(run.status.code(), Some(0), "{name}: {}", out(&run));
        // A simulation writes no status into the real project.
        assert!(
            out(&run).contains("a simulated run writes no status back"),
            "{name}: {}",
            out(&run)
        );
        for file in [
            "_bmad-output/implementation-artifacts/sprint-status.yaml",
            "stories/2-digest-rendering.md",
            "_bmad-output/initiative-cart/epic-cart-core/story-cart-totals-plan.md",
        ] {
            if ws.path().join(file).exists() {
                assert_eq!(
                    read(ws.path(), file),
                    original(name, file),
                    "{name}: {file}"
                );
            }
        }
        // Never over an existing file.
        let again = bmad(&["init", "--from-bmad", w]);
        assert_eq!(again.status.code(), Some(2), "{name}: {}", out(&again));
    }
    // A project with a problem gets its diagnostics and no workflow.
    let ws = project("v6-sprint");
    let status = ws.path().join(SPRINT);
    let text = original("v6-sprint", SPRINT).replace(
        "2-1-personality-system: backlog",
        "2-1-personality-system: later",
    );
    std::fs::write(&status, text).unwrap();
    let init = bmad(&["init", "--from-bmad", ws.path().to_str().unwrap()]);
    assert_eq!(init.status.code(), Some(1), "{}", out(&init));
    assert!(
        out(&init).contains("bmad::unknown-status"),
        "{}",
        out(&init)
    );
    assert!(!ws.path().join("workflow.bmad").exists());
}
