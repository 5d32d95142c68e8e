//! Spend: a `budget` that pauses a run when it is spent and a resume with `--budget` that
//! finishes it with nothing run twice; Claude Code given the money left; a rate limit
//! retried with back-off that uses none of the story's attempts; a service that keeps
//! refusing, or an account out of credit, pausing the run. The agent is a fixture program
//! playing Claude Code's result object (tests/fixtures/agents/spend.sh).

use crate::common;
use crate::harness::{Test, fill};
use std::path::Path;

/// Four stories, one at a time, each one task of an agent whose calls cost $0.40.
fn four_stories(budget: &str) -> String {
    stories(4, 1, budget)
}

/// `count` stories, `at_once` at a time, each one task of the fixture agent.
fn stories(count: usize, at_once: usize, budget: &str) -> String {
    let agent = common::fixture("spend.sh");
    let mut src = fill(
        r#"
        agent dev { backend exec "sh {agent} {budget}" output claude }
        workflow w { start build }
        settings {
          transient_backoff 20ms
          transient_retries 2
        }
        phase build {
          for story in stories max {at_once} {
            repeat max 1 {
              dev: implement
            }
          }
        }
        "#,
        &[("agent", &agent), ("at_once", &at_once.to_string())],
    );
    src.push_str(budget);
    for s in 1..=count {
        src.push_str(&format!(
            "story \"s{s}\" feature {{ title \"story {s}\" }}\n"
        ));
    }
    src
}

/// A directory holding `src` as `flow.bmad`.
fn project(src: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow.bmad"), src).unwrap();
    dir
}

/// `bmad run flow.bmad [more]` in `dir`, with the fixture's log in `dir`.
fn run(dir: &Path, more: &[&str], status: i32) -> crate::harness::Ran {
    Test::at(dir)
        .args(&["run", "flow.bmad", "--workspace", "."])
        .args(more)
        .env("SPEND_DIR", &dir.display().to_string())
        .env("SPEND_COST", "0.40")
        .status(status)
        .run()
}

/// The steps the agent was called for, in order, from the fixture's log.
fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_spent_budget_pauses_the_run_and_a_resume_with_a_larger_one_finishes_it() {
    let tmp = project(&four_stories("budget {\n  run 1 USD\n}\n"));
    let dir = tmp.path();
    drop(Test::at(dir).args(&["check", "flow.bmad"]).run());
    let paused = run(dir, &[], 4);
    assert!(
        paused
            .stdout
            .contains("run paused: the budget of the run is spent ($1.20 of $1.00)"),
        "{}",
        paused.stdout
    );
    // Three stories ran ($0.40 each); the fourth did not start and is not blocked.
    let first = calls(dir);
    assert_eq!(first.len(), 3, "{first:?}");
    // Claude Code was given the money left before each task.
    assert!(first[0].ends_with("--max-budget-usd 1.0000"), "{first:?}");
    assert!(first[1].ends_with("--max-budget-usd 0.6000"), "{first:?}");
    assert!(first[2].ends_with("--max-budget-usd 0.2000"), "{first:?}");
    assert!(
        paused.stdout.contains("3 done, 0 blocked"),
        "{}",
        paused.stdout
    );
    // The report: spend against the budget, per model, and the pause's reason.
    for line in [
        "budget        $1.20 spent of $1.00, 3600 tokens",
        "  model claude",
        "paused        the budget of the run is spent ($1.20 of $1.00)",
    ] {
        assert!(
            paused.stdout.contains(line),
            "no {line:?}: {}",
            paused.stdout
        );
    }
    Test::at(dir)
        .args(&["runs"])
        .stdout_contains("paused")
        .run();

    // A resume with the same budget pauses again at once, saying so (exit 4), and runs
    // nothing.
    let again = run(dir, &["--resume"], 4);
    assert!(
        again
            .stdout
            .contains("run paused: the budget of the run is spent"),
        "{}",
        again.stdout
    );
    assert_eq!(calls(dir).len(), 3);
    Test::at(dir)
        .args(&["runs"])
        .stdout_contains("paused")
        .run();

    // The budget given on resume replaces the workflow's: the last story runs, alone.
    let resumed = run(dir, &["--resume", "--budget", "2USD"], 0);
    let all = calls(dir);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all[3].ends_with("--max-budget-usd 0.8000"), "{all:?}");
    let mut steps: Vec<&str> = all.iter().map(|c| c.split(' ').next().unwrap()).collect();
    steps.sort_unstable();
    steps.dedup();
    assert_eq!(steps.len(), 4, "a step ran twice: {all:?}");
    assert!(
        resumed.stdout.contains("run succeeded"),
        "{}",
        resumed.stdout
    );
    assert!(
        resumed
            .stdout
            .contains("budget        $1.60 spent of $2.00"),
        "{}",
        resumed.stdout
    );
}

#[test]
fn a_story_over_its_own_ceiling_is_blocked_and_the_others_go_on() {
    let src = four_stories("budget {\n  per_story 0.5 USD\n}\n")
        .replace("dev: implement", "dev: implement\n      dev: review");
    let tmp = project(&src);
    let dir = tmp.path();
    // Each story's first task costs $0.40 of its $0.50; its second is given the $0.10
    // left and spends $0.40 more; s1 is then over its ceiling, not the run.
    let ran = run(dir, &[], 0);
    let all = calls(dir);
    assert_eq!(all.len(), 8, "{all:?}");
    assert!(all[1].ends_with("--max-budget-usd 0.1000"), "{all:?}");
    assert!(ran.stdout.contains("run succeeded"), "{}", ran.stdout);

    // With a third task, each story is blocked before it: the others go on, and whoever
    // listens hears of each.
    let src = four_stories(
        "budget {\n  per_story 0.5 USD\n}\nnotifications {\n  to \"blocked.jsonl\"\n  on blocked\n}\n",
    ).replace(
        "dev: implement",
        "dev: implement\n      dev: review\n      dev: document",
    );
    let tmp = project(&src);
    let dir = tmp.path();
    let ran = run(dir, &[], 3);
    assert_eq!(calls(dir).len(), 8, "{:?}", calls(dir));
    assert!(
        ran.stdout
            .contains("not started: the budget of each story is spent ($0.80 of $0.50)"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("4 blocked stories"), "{}", ran.stdout);
    let blocked = std::fs::read_to_string(dir.join("blocked.jsonl")).unwrap();
    assert_eq!(blocked.lines().count(), 4, "{blocked}");
    assert!(
        blocked.contains("story s1 is blocked: not started: the budget of each story"),
        "{blocked}"
    );
}

#[test]
fn a_rate_limit_is_retried_with_back_off_and_uses_none_of_the_storys_attempts() {
    let tmp = project(&four_stories(""));
    let dir = tmp.path();
    // The first two calls are refused; `repeat max 1` leaves no attempt to spare.
    std::fs::write(dir.join("refuse"), "2").unwrap();
    let ran = run(dir, &[], 0);
    let all = calls(dir);
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all[0].starts_with("build/0/s1/"), "{all:?}");
    assert_eq!(all[0], all[2], "the refused task is tried again: {all:?}");
    assert!(ran.stdout.contains("run succeeded"), "{}", ran.stdout);
    assert!(
        ran.stderr.contains(
            "agent `dev`'s service is rate limited: trying again in 20ms (retry 1 of 2, not an \
             attempt of the task)"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("trying again in 40ms (retry 2 of 2"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_service_that_keeps_refusing_pauses_the_run_and_so_does_an_account_out_of_credit() {
    let tmp = project(&four_stories(""));
    let dir = tmp.path();
    std::fs::write(dir.join("refuse"), "100").unwrap();
    let ran = run(dir, &[], 4);
    // One try and two retries, then the pause; no story is blocked.
    assert_eq!(calls(dir).len(), 3, "{:?}", calls(dir));
    assert!(
        ran.stdout
            .contains("run paused: agent `dev`'s service is rate limited after 3 tries"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("0 done, 0 blocked"), "{}", ran.stdout);

    // Out of credit: no retry.
    std::fs::write(dir.join("refuse"), "credit").unwrap();
    let ran = run(dir, &["--resume"], 4);
    assert_eq!(calls(dir).len(), 4, "{:?}", calls(dir));
    assert!(
        ran.stdout
            .contains("agent `dev`'s service is out of credit: Claude Code reported error"),
        "{}",
        ran.stdout
    );

    // Credit again: the resume finishes every story.
    std::fs::write(dir.join("refuse"), "0").unwrap();
    let ran = run(dir, &["--resume"], 0);
    assert_eq!(calls(dir).len(), 8, "{:?}", calls(dir));
    assert!(ran.stdout.contains("run succeeded"), "{}", ran.stdout);
}

#[test]
fn people_hear_of_the_budget_the_pause_and_the_end_on_stdout_a_file_and_a_webhook() {
    let tmp = tempfile::tempdir().unwrap();
    let server = common::loopback::serve(tmp.path().to_path_buf());
    let hook = format!("http://127.0.0.1:{}/hook", server.port);
    let notifications = format!(
        "budget {{\n  run 1 USD\n}}\nnotifications {{\n  to stdout\n  to \"ops/run-events.jsonl\"\n  \
         to \"{hook}\"\n  on budget, paused, finished, failed\n}}\n"
    );
    std::fs::write(tmp.path().join("flow.bmad"), four_stories(&notifications)).unwrap();
    let dir = tmp.path();
    Test::at(dir)
        .args(&["check", "flow.bmad"])
        .stderr_contains("0 errors, 0 warnings")
        .run();
    let paused = run(dir, &[], 4);
    assert!(
        paused
            .stdout
            .contains("NOTIFY budget: 80% of the run's budget is spent ($0.80 of $1.00)"),
        "{}",
        paused.stdout
    );
    assert!(
        paused
            .stdout
            .contains("NOTIFY paused: the run paused: the budget of the run is spent"),
        "{}",
        paused.stdout
    );
    run(dir, &["--resume", "--budget", "2USD"], 0);
    // The file and the webhook got the same notices, as JSON, in order.
    let file = std::fs::read_to_string(dir.join("ops/run-events.jsonl")).unwrap();
    let events = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert!(v["run"].as_str().is_some_and(|r| !r.is_empty()), "{l}");
                v["event"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let expected = ["budget", "budget", "paused", "finished"];
    assert_eq!(
        events(file.lines().map(str::to_string).collect()),
        expected,
        "{file}"
    );
    let hooks = server.hooks.lock().unwrap().clone();
    assert_eq!(events(hooks.clone()), expected, "{hooks:?}");
}

#[test]
fn a_streaming_cli_is_stopped_when_its_spend_passes_the_budget_left() {
    let agent = common::fixture("codex-stream.sh");
    let src = fill(
        r#"
        agent dev { backend exec "sh {agent}" output codex }
        workflow w { start build }
        phase build {
          dev: implement
        }
        budget {
          run 0.5 USD
        }
        "#,
        &[("agent", &agent)],
    );
    let tmp = project(&src);
    let dir = tmp.path();
    // Codex reports no cost: std.prices has its default model's, $0.325 a turn here.
    let ran = run(dir, &[], 4);
    let turns = std::fs::read_to_string(dir.join("turns")).unwrap();
    assert_eq!(
        turns.trim(),
        "2",
        "stopped after the turn that passed $0.50"
    );
    assert!(
        ran.stdout.contains(
            "run paused: the budget of the run is spent ($0.65 of $0.50); agent `dev` was \
             stopped: stopped: its cost passed the budget left ($0.65 of $0.50)"
        ),
        "{}",
        ran.stdout
    );
}

/// `bmad run flow.bmad` in `dir` with the fixture playing Claude Code's own limit, each
/// call $`cost` (`s1`'s `s1_cost` when given) and taking a while, so that tasks overlap.
fn run_capped(dir: &Path, cost: &str, s1_cost: Option<&str>, status: i32) -> crate::harness::Ran {
    let mut t = Test::at(dir)
        .args(&["run", "flow.bmad", "--workspace", "."])
        .env("SPEND_DIR", &dir.display().to_string())
        .env("SPEND_COST", cost)
        .env("SPEND_CAP", "1")
        .env("SPEND_SLEEP", "0.2");
    if let Some(c) = s1_cost {
        t = t.env("SPEND_COST_s1", c);
    }
    t.status(status).run()
}

/// The `--max-budget-usd` each call was given, from the fixture's log, in dollars.
fn shares(calls: &[String]) -> Vec<f64> {
    calls
        .iter()
        .filter_map(|c| c.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn stories_side_by_side_hold_shares_that_never_overshoot_the_run_ceiling() {
    // Three at once under $1.25, each task $0.25 as Claude Code stops at its limit: the
    // shares of tasks in flight never sum past what is left, so five stories are done for
    // exactly the ceiling and the sixth waits for a resume (each would once have been
    // given the whole remainder: six stories for $1.50).
    let tmp = project(&stories(6, 3, "budget {\n  run 1.25 USD\n}\n"));
    let dir = tmp.path();
    let ran = run_capped(dir, "0.25", None, 4);
    assert!(ran.stdout.contains("5 done, 0 blocked"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("budget        $1.25 spent of $1.25"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("was stopped"), "{}", ran.stdout);
    let given = shares(&calls(dir));
    assert_eq!(given.len(), 5, "{given:?}");
    // The first three split the ceiling: none was given all of it.
    for share in &given[..3] {
        assert!((share - 1.25 / 3.0).abs() < 1e-3, "{given:?}");
    }
}

#[test]
fn a_task_stopped_at_its_share_runs_again_with_a_larger_one_not_as_an_attempt() {
    // Three at once under $3: $1.00 each; s1 costs $1.20, is stopped at its share, and
    // runs again with what the others left, in the same attempt (`repeat max 1`).
    let tmp = project(&stories(3, 3, "budget {\n  run 3 USD\n}\n"));
    let dir = tmp.path();
    let ran = run_capped(dir, "0.20", Some("1.20"), 0);
    assert!(
        ran.stderr.contains(
            "agent `dev` was stopped at its share of the budget ($1.00): it runs again with a \
             larger share (not an attempt of the task)"
        ),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.contains("3 done, 0 blocked"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("budget        $2.60 spent of $3.00"),
        "{}",
        ran.stdout
    );
    let s1: Vec<f64> = shares(
        &calls(dir)
            .into_iter()
            .filter(|c| c.contains("/s1"))
            .collect::<Vec<_>>(),
    );
    assert_eq!(s1.len(), 2, "{s1:?}");
    assert!(
        (s1[0] - 1.0).abs() < 1e-9 && (s1[1] - 1.6).abs() < 1e-9,
        "{s1:?}"
    );

    // Too little left for what it was stopped at: the run pauses and says why.
    let tmp = project(&stories(2, 2, "budget {\n  run 2 USD\n}\n"));
    let dir = tmp.path();
    let ran = run_capped(dir, "0.20", Some("1.20"), 4);
    assert!(
        ran.stdout.contains(
            "run paused: the budget left ($0.80) is no more than the share agent `dev` was \
             stopped at ($1.00): its task cannot get further"
        ),
        "{}",
        ran.stdout
    );
}

#[test]
fn budgets_that_let_no_task_start_and_empty_rejections_are_refused_on_the_command_line() {
    let tmp = project(&four_stories(""));
    let dir = tmp.path();
    for (amount, says) in [
        ("1.5tokens", "tokens are counted whole"),
        ("0.000000001USD", "give at least a cent"),
        ("0USD", "give an amount above zero"),
    ] {
        Test::at(dir)
            .args(&["run", "flow.bmad", "--budget", amount])
            .status(2)
            .stderr_contains(says)
            .run();
    }
    Test::at(dir)
        .args(&["approve", "some-run", "prod", "--reject", "  "])
        .status(2)
        .stderr_contains("say why it is rejected")
        .run();
}
