//! People in the loop: an `approve` step inside a story's loop waits for a person, who
//! answers from another terminal (`bmad approve`); a rejection goes back to the dev agent
//! with the person's reason, as a QA rejection does, and the next attempt asks again.

use crate::common;
use crate::harness::{DEADLINE, Test, wait_until};
use std::path::Path;

const FLOW: &str = r#"
agent dev { backend exec "cat >> prompts.txt" stdin }
workflow w { start build }
phase build {
  for story in stories {
    repeat max 3 {
      dev: implement
      approve review "Does the change read well?" by alice, bob
    } until approved
  }
}
story "s1" feature { title "one" }
notifications {
  to "events.jsonl"
  on waiting, finished
}
"#;

/// An approval as the test looks at it: target, attempt, answered.
type Asked = (String, u64, bool);

/// The approvals of the only run in `dir`'s store, with the run's id.
fn approvals(dir: &Path) -> Option<(String, Vec<Asked>)> {
    let store = common::store_once_written(&dir.join(".bmad/state.db"))?;
    let run = store.runs().ok()?.into_iter().next()?;
    let all = store.approvals(&run.id).ok()?;
    Some((
        run.id,
        all.into_iter()
            .map(|a| (a.target, a.attempt, a.answer.is_some()))
            .collect(),
    ))
}

/// Waits until the run asks for `review@s1` at `attempt`; the run's id.
fn asked(dir: &Path, attempt: u64) -> String {
    let mut id = String::new();
    let ok = wait_until(DEADLINE, || match approvals(dir) {
        Some((run, all)) if all == [("review@s1".to_string(), attempt, false)] => {
            id = run;
            true
        }
        _ => false,
    });
    assert!(ok, "the run never asked for review@s1 at attempt {attempt}");
    id
}

/// `bmad run flow.bmad` in `dir`, in the background.
fn start(dir: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", "flow.bmad", "--workspace", "."])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_rejected_approval_sends_the_story_back_with_the_reason_and_asks_again() {
    let t = Test::new().workflow(FLOW);
    let dir = t.path().to_path_buf();
    let run = start(&dir);
    let id = asked(&dir, 1);
    // `bmad runs show` says what the run waits for, and how to answer.
    Test::at(&dir)
        .args(&["runs", "show", &id])
        .stdout_contains(
            "review@s1                waiting (by alice, bob) Does the change read well?",
        )
        .stdout_contains(&format!("answer with `bmad approve {id} TARGET`"))
        .run();
    // Only who the step names may answer.
    Test::at(&dir)
        .args(&["approve", &id, "review@s1", "--as", "carol"])
        .status(2)
        .stderr_contains("`review@s1` may be approved by alice, bob, not by carol")
        .run();
    Test::at(&dir)
        .args(&[
            "approve",
            &id,
            "review@s1",
            "--reject",
            "name the new flag in the README",
            "--as",
            "alice",
        ])
        .run();
    // The next attempt gets the person's words, and asks again.
    let id = asked(&dir, 2);
    let prompts = std::fs::read_to_string(dir.join("prompts.txt")).unwrap();
    assert!(
        prompts.contains("name the new flag in the README"),
        "{prompts}"
    );
    Test::at(&dir)
        .args(&["approve", &id, "review@s1", "--as", "bob"])
        .run();
    let out = run.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 done, 0 blocked"), "{stdout}");
    // Whoever listens heard each time the run waited for a person, and its end.
    let events: Vec<String> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert_eq!(events, ["\"waiting\"", "\"waiting\"", "\"finished\""]);
    // The report says whom the run waited for, and how it went.
    assert!(stdout.contains("approvals     2 (waited "), "{stdout}");
    assert!(
        stdout.contains("  review@s1            rejected by alice after "),
        "{stdout}"
    );
    assert!(
        stdout.contains("  review@s1            approved by bob after "),
        "{stdout}"
    );
    // Each task's prompt is kept: the second one carries the person's words.
    Test::at(&dir)
        .args(&["runs", "log", &id, "--prompt"])
        .stdout_contains("── prompt ──\n")
        .stdout_contains("name the new flag in the README")
        .run();
}

#[test]
fn an_approval_given_in_advance_or_simulated_does_not_wait() {
    // The step by its name, or one story's step by its target (who runs bmad must be
    // among who may approve: `by alice, bob`); a story the workflow lacks is refused.
    for (target, user) in [("review", "alice"), ("review@s1", "bob")] {
        Test::new()
            .workflow(FLOW)
            .args(&["run", "flow.bmad", "--workspace", ".", "--approve", target])
            .env("USER", user)
            .stdout_contains("1 done, 0 blocked")
            .run();
    }
    Test::new()
        .workflow(FLOW)
        .args(&[
            "run",
            "flow.bmad",
            "--workspace",
            ".",
            "--approve",
            "review@s2",
        ])
        .status(2)
        .stderr_contains("no environment or approve step `review@s2` (did you mean `review@s1`?)")
        .run();
    Test::new()
        .workflow(FLOW)
        .args(&["run", "--simulate", "flow.bmad", "--workspace", "."])
        .stdout_contains("1 done, 0 blocked")
        .run();
    Test::new()
        .workflow(FLOW)
        .args(&["check", "flow.bmad"])
        .stderr_contains("0 errors, 0 warnings")
        .run();
}

#[test]
fn the_rest_of_the_run_goes_on_while_an_approval_waits() {
    let t = Test::new().workflow(
        r#"
        agent dev { backend exec "cat >> prompts.txt" stdin }
        workflow w { start build }
        phase build {
          parallel {
            approve ship "Ship it?"
            dev: implement
          }
        }
        "#,
    );
    let dir = t.path().to_path_buf();
    let run = start(&dir);
    // The dev's task ends while `ship` is still unanswered.
    let mut id = String::new();
    let both = wait_until(DEADLINE, || {
        let waiting = approvals(&dir).is_some_and(|(run, all)| {
            id = run;
            all == [("ship".to_string(), 1, false)]
        });
        waiting && dir.join("prompts.txt").exists()
    });
    assert!(both, "the dev's task did not run while the approval waited");
    Test::at(&dir).args(&["approve", &id, "ship"]).run();
    let out = run.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn approve_in_advance_counts_only_for_who_may_approve() {
    let t = Test::new().workflow(FLOW);
    let dir = t.path().to_path_buf();
    // mallory is not among `by alice, bob`: her --approve is ignored and the run asks.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args([
            "run",
            "flow.bmad",
            "--workspace",
            ".",
            "--approve",
            "review",
        ])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env("USER", "mallory")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = asked(&dir, 1);
    Test::at(&dir)
        .args(&["approve", &id, "review@s1", "--as", "bob"])
        .run();
    let out = run.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("--approve ignored: `mallory` is not among who may approve it (alice, bob)"),
        "{log}"
    );
}

#[test]
fn a_wait_across_a_kill_and_a_resume_is_timed_by_the_stores_clock() {
    let t = Test::new().workflow(FLOW);
    let dir = t.path().to_path_buf();
    let mut run = start(&dir);
    let id = asked(&dir, 1);
    run.kill().unwrap();
    run.wait().unwrap();
    // Answered over a second after it was asked, while no bmad ran.
    let store = common::store_once_written(&dir.join(".bmad/state.db")).unwrap();
    let asked_ms = store.approvals(&id).unwrap()[0].asked_ms;
    let now = || {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap()
    };
    assert!(wait_until(DEADLINE, || now() >= asked_ms + 1_100));
    Test::at(&dir)
        .args(&["approve", &id, "review@s1", "--as", "alice"])
        .run();
    let resumed = Test::at(&dir)
        .args(&["run", "flow.bmad", "--workspace", ".", "--resume"])
        .stdout_contains("1 done, 0 blocked")
        .run();
    let line = resumed
        .stdout
        .lines()
        .find(|l| l.contains("review@s1            approved by alice after "))
        .unwrap_or_else(|| panic!("{}", resumed.stdout));
    // The segments' own clocks would say a few milliseconds.
    assert!(!line.ends_with("ms"), "{line}");
}
