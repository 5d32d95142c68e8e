//! Simulated runs on a virtual clock: phases in order, limits never exceeded, bounded QA
//! loops with escalation, the story DAG, determinism.

use crate::common;
use crate::harness::Test;

use bmad::runtime::Report;
use bmad::runtime::event::EventKind;

/// Runs a checked workflow with simulated agents on a paused clock.
fn run_checked(checked: bmad::Checked, seed: u64) -> Report {
    let workspace = tempfile::tempdir().unwrap();
    common::run_checked(checked, workspace.path(), true, seed)
}

fn simulate(src: &str, seed: u64) -> Report {
    run_checked(bmad::check_text("run.bmad", src), seed)
}

fn simulate_seed(seed: u64) -> Report {
    run_checked(
        bmad::check_path(std::path::Path::new("examples/seed-product.bmad")),
        seed,
    )
}

/// The most tasks running at once between each phase's start and end.
fn concurrency_by_phase(report: &Report) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let (mut phase, mut running, mut max) = (String::new(), 0usize, 0usize);
    for e in &report.events {
        match &e.kind {
            EventKind::PhaseStarted { phase: p } => (phase, running, max) = (p.clone(), 0, 0),
            EventKind::TaskStarted { .. } => {
                running += 1;
                max = max.max(running);
            }
            EventKind::TaskFinished { .. } => running -= 1,
            EventKind::PhaseFinished { .. } => out.push((phase.clone(), max)),
            _ => {}
        }
    }
    out
}

#[test]
fn the_seed_runs_its_phases_in_order_within_their_limits() {
    let report = simulate_seed(1);
    assert!(report.ok, "{:?}", report.failed);
    let phases: Vec<String> = concurrency_by_phase(&report)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(phases, common::SEED_PHASES);
    let limits = [3, 4, 3, 5, 3, 8];
    for ((phase, max), limit) in concurrency_by_phase(&report).into_iter().zip(limits) {
        assert!(max <= limit, "{phase}: {max} agents at once, limit {limit}");
    }
    // The architecture phase really ran its three designers side by side.
    assert_eq!(concurrency_by_phase(&report)[1].1, 3);
    // Stories ran in dependency order: 3.6.15 before 3.6.16.
    let done: Vec<&str> = report.stories_done.iter().map(String::as_str).collect();
    let pos = |id| done.iter().position(|d| *d == id).unwrap();
    assert!(pos("3.6.15") < pos("3.6.16"));
    assert!(report.events.iter().any(|e| matches!(&e.kind, EventKind::Handoff { from, to, .. } if from == "architect" && to == "sm")));
}

#[test]
fn days_of_simulated_work_finish_on_the_virtual_clock() {
    let mut src = String::from(
        "agent slow {\n  backend sim duration 3d\n}\nphase build {\n  for story in stories {\n    slow: implement\n  }\n}\n",
    );
    for i in 0..10 {
        let after = if i > 0 {
            format!("  after \"s{}\"\n", i - 1)
        } else {
            String::new()
        };
        src.push_str(&format!(
            "story \"s{i}\" backend {{\n  title \"t\"\n{after}}}\n"
        ));
    }
    let report = simulate(&src, 1);
    assert!(report.ok);
    assert_eq!(
        report.makespan_ms,
        30 * 86_400_000,
        "ten stories of three days, one after the other"
    );
    assert_eq!(report.stories_done.len(), 10);
}

#[test]
fn qa_sends_work_back_at_most_the_maximum_then_the_story_is_escalated() {
    let src = "import std.roles\nagent strict_qa {\n  backend sim duration 10m fail 100%\n}\n\
story \"a\" backend { title \"fails QA\" }\nstory \"b\" backend {\n  title \"depends on a\"\n  after \"a\"\n}\nstory \"c\" backend { title \"independent\" }\n\
phase development max 5 {\n  for story in stories max 5 {\n    repeat max 3 {\n      backend_dev: implement\n      strict_qa: validate {\n        tests unit\n      }\n    } until approved\n  }\n}\n";
    // Every story fails QA: all three attempts are made, then each is escalated.
    let report = simulate(src, 1);
    assert!(
        report.ok,
        "blocked stories are escalated, the run goes on: {:?}",
        report.failed
    );
    let qa_attempts: Vec<u64> = report
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskStarted {
                agent,
                story,
                attempt,
                ..
            } if agent == "strict_qa" && story.as_deref() == Some("a") => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(qa_attempts, [1, 2, 3]);
    let mut blocked = report.stories_blocked.clone();
    blocked.sort();
    assert_eq!(blocked, ["a", "b", "c"]);
    // `b` never started: it waits for `a`, which is blocked.
    assert!(
        !report
            .events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::TaskStarted { story: Some(s), .. } if s == "b"))
    );
}

#[test]
fn independent_stories_go_on_when_one_is_blocked() {
    let src = "import std.roles\nagent picky_qa {\n  backend sim duration 10m fail 50% seed 3\n}\n\
story \"a\" backend { title \"a\" }\nstory \"b\" backend { title \"b\" }\nstory \"c\" backend { title \"c\" }\nstory \"d\" backend { title \"d\" }\n\
phase development max 5 {\n  for story in stories max 5 {\n    repeat max 2 {\n      backend_dev: implement\n      picky_qa: validate\n    } until approved\n  }\n}\n";
    let report = simulate(src, 11);
    assert!(report.ok);
    assert_eq!(report.stories_done.len() + report.stories_blocked.len(), 4);
    assert!(
        !report.stories_done.is_empty() && !report.stories_blocked.is_empty(),
        "seeded to give both: {report:?}"
    );
}

#[test]
fn a_for_each_never_runs_more_stories_than_the_phase_allows() {
    let mut src = String::from(
        "import std.roles\nphase development max 3 {\n  for story in stories {\n    backend_dev: implement\n  }\n}\n",
    );
    for i in 0..12 {
        src.push_str(&format!("story \"s{i}\" backend {{ title \"t\" }}\n"));
    }
    let report = simulate(&src, 1);
    assert_eq!(report.max_concurrent, 3);
    assert_eq!(report.stories_done.len(), 12);
    assert_eq!(
        report.makespan_ms,
        4 * 45 * 60_000,
        "twelve 45-minute stories, three at a time"
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let events = |seed| serde_json::to_string(&simulate_seed(seed).events).unwrap();
    assert_eq!(events(5), events(5));
}

#[test]
fn bmad_run_runs_clean_workflows_and_refuses_broken_ones() {
    Test::new()
        .at_root()
        .args(&["run", "--simulate", "examples/hello.bmad"])
        .stdout_contains("run succeeded")
        .run();
    Test::new()
        .workflow(
            r#"
            import std.roles
            phase p {
              nobody: x
            }
            "#,
        )
        .args(&["run", "--simulate", "flow.bmad"])
        .status(1)
        .run();
}

#[test]
fn the_report_gives_the_critical_path_and_measures_the_kpis() {
    let src = r#"
agent slow { backend sim duration 2h }
agent fast { backend sim duration 1h }
story "a" backend { title "a" }
story "c" frontend { title "c" }
story "b" frontend { title "b" after "a" }
phase development {
  for story in stories {
    assign dev by story.type {
      backend => slow
      frontend => fast
    }
    dev: implement
  }
}
kpi velocity: stories_completed_per_sprint >= 3
kpi efficiency: tasks_completed_per_hour >= 5
kpi quality: defect_escape_rate < 5%
"#;
    let report = simulate(src, 1);
    assert!(report.ok, "{:?}", report.failed);
    let path: Vec<&str> = report
        .critical_path
        .iter()
        .map(|s| s.task.as_str())
        .collect();
    assert_eq!(path, ["slow: implement [a]", "fast: implement [b]"]);
    assert_eq!(report.makespan_ms, 3 * 3_600_000);
    let kpis: Vec<(&str, Option<f64>, Option<bool>)> = report
        .kpis
        .iter()
        .map(|k| (k.name.as_str(), k.measured, k.met))
        .collect();
    assert_eq!(
        kpis,
        [
            ("velocity", Some(3.0), Some(true)),
            ("efficiency", Some(1.0), Some(false)),
            ("quality", None, None),
        ]
    );
    let table = report.table();
    assert!(table.contains("critical path (2 tasks)"), "{table}");
    assert!(
        table.contains("efficiency                 >= 5        1 (MISSED: 3 tasks done in 3h)"),
        "{table}"
    );
}
