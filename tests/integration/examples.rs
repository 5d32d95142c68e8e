//! Every example and every stdlib module checks clean, and the seed example says all of
//! the seed: every phase, procedure, monitor rule, protocol, limit and KPI.

use crate::common;

use bmad::ir::ProcKind;
use bmad::model::step::{StepKind, walk};
use std::path::Path;

#[test]
fn every_example_checks_clean() {
    let dir = Path::new("examples");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("examples/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "bmad") {
            continue;
        }
        count += 1;
        let checked = bmad::check_path(&path);
        assert!(
            checked.diagnostics.is_empty(),
            "{} is not clean:\n{}",
            path.display(),
            common::rendered(&checked)
        );
    }
    assert!(
        count >= 4,
        "expected the seed and small examples, found {count}"
    );
}

#[test]
fn every_stdlib_module_checks_clean() {
    for (name, _) in bmad::stdlib::MODULES {
        let checked = bmad::check_text("probe.bmad", &format!("import {name}\n"));
        assert!(
            checked.diagnostics.is_empty(),
            "{name} is not clean:\n{}",
            common::rendered(&checked)
        );
        assert_eq!(checked.program.files.len(), 2);
    }
}

#[test]
fn the_seed_example_expresses_the_whole_seed() {
    let checked = bmad::check_path(Path::new("examples/seed-product.bmad"));
    assert!(checked.diagnostics.is_empty());
    let p = &checked.program;

    let phases: Vec<&str> = p.phases.iter().map(|ph| ph.name.name.as_str()).collect();
    assert_eq!(phases, common::SEED_PHASES);
    let max: Vec<Option<u64>> = p.phases.iter().map(|ph| ph.max.map(|m| m.value)).collect();
    assert_eq!(max, [Some(3), Some(4), Some(3), Some(5), Some(3), None]);

    // The seed's roster is all there.
    for agent in [
        "analyst",
        "pm",
        "architect",
        "ux",
        "ui_architect",
        "sm",
        "ui_dev",
        "backend_dev",
        "qa",
        "devops",
        "git_manager",
        "monitor",
        "self_healer",
        "operations_manager",
        "security_specialist",
        "senior_developer",
        "devops_lead",
    ] {
        assert!(p.agent(agent).is_some(), "agent {agent} missing");
    }

    // Story file structure: id, epic, title, context, dependencies, files, acceptance.
    let story = p
        .stories
        .iter()
        .find(|s| s.id.name == "3.6.16")
        .expect("story 3.6.16");
    assert_eq!(story.epic.as_ref().map(|e| e.name.as_str()), Some("3.6"));
    assert_eq!(story.after[0].name, "3.6.15");
    assert_eq!(story.modify.len(), 1);
    assert_eq!(
        story.create[0].template.as_ref().map(|t| t.value.as_str()),
        Some("webrtc-hook")
    );
    assert_eq!(story.accept.len(), 3);
    assert_eq!(p.story_sources.len(), 1);

    // Each procedural construct of the operations half.
    let kinds = |k: ProcKind| p.procedures.iter().filter(|x| x.kind == k).count();
    assert_eq!(kinds(ProcKind::Heal), 1);
    assert_eq!(kinds(ProcKind::Maintenance), 3);
    assert_eq!(kinds(ProcKind::Emergency), 2);
    assert_eq!(kinds(ProcKind::Incident), 1);
    assert!(p.procedure("critical_failure").is_some());
    let types: Vec<&str> = p
        .procedures
        .iter()
        .filter_map(|x| x.schedule.as_ref()?.kind.as_ref().map(|k| k.name.as_str()))
        .collect();
    assert_eq!(types, ["updates", "cleanup", "backup"]);
    let levels: Vec<&str> = p
        .incident_levels
        .iter()
        .map(|l| l.name.name.as_str())
        .collect();
    assert_eq!(levels, ["low", "medium", "high", "critical"]);
    let stages: Vec<String> = p
        .procedure("incident_response")
        .expect("incident workflow")
        .body
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Group { label, .. } => Some(label.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(stages, ["detection", "triage", "resolution", "postmortem"]);

    // Monitoring: health checks, metric thresholds, error patterns, status routing.
    let m = &p.monitors[0];
    assert_eq!(m.health.len(), 2);
    assert_eq!(m.metrics.len(), 3);
    assert_eq!(m.patterns.len(), 4);
    assert_eq!(m.on_status.len(), 2);

    // Development: for-each over the story DAG, assignment by type, bounded QA loop, PR.
    let dev = &p.phases[3].body;
    let mut seen = Vec::new();
    walk(dev, &mut |s| {
        seen.push(match &s.kind {
            StepKind::ForEach { .. } => "for_each",
            StepKind::Assign { .. } => "assign",
            StepKind::Repeat { max: Some(_), .. } => "bounded_repeat",
            StepKind::Task(t) if t.tasks[0].name == "create_pr" => "create_pr",
            _ => "",
        })
    });
    for want in ["for_each", "assign", "bounded_repeat", "create_pr"] {
        assert!(seen.contains(&want), "development lacks {want}");
    }

    // Declarative configuration.
    let sync = p.sync.as_ref().expect("sync");
    assert_eq!(sync.at.len(), 4);
    assert!(sync.audit);
    let protocol = p.handoff_protocol.as_ref().expect("handoff protocol");
    assert_eq!((protocol.before.len(), protocol.after.len()), (3, 3));
    let limits = p.limits.as_ref().expect("limits");
    assert_eq!((limits.per_agent.len(), limits.global.len()), (3, 3));
    // The seed's five, and the open incidents at the end of a monitor session.
    assert_eq!(p.kpis.len(), 6);
    assert_eq!(p.environments.len(), 3);
}

#[test]
fn the_ir_keeps_spans_and_serialises() {
    let checked = bmad::check_path(Path::new("examples/seed-product.bmad"));
    let json = serde_json::to_value(&checked.program).expect("serialisable");
    assert_eq!(json["files"][0], "examples/seed-product.bmad");
    let span = &json["phases"][0]["name"]["span"];
    let text = &checked.sources.get(0).text;
    let (start, end) = (
        span["start"].as_u64().unwrap() as usize,
        span["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[start..end], "ideation");
}

/// `bmad run --simulate examples/seed-product.bmad --seed SEED` in a fresh workspace:
/// its exit code, the report and the log.
fn demo(seed: &str) -> (Option<i32>, String, String) {
    let ws = tempfile::tempdir().unwrap();
    let out = crate::common::bmad(&[
        "run",
        "--simulate",
        "examples/seed-product.bmad",
        "--seed",
        seed,
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_shows_the_qa_loop_and_seeds_give_different_runs() {
    // The default seed: QA sends a story back with its feedback, the next attempt passes.
    let (code, report, log) = demo("1");
    assert_eq!(code, Some(0), "{report}");
    assert!(log.contains("story_qa found defects in attempt 1"), "{log}");
    assert!(log.contains("(attempt 2)"), "{log}");
    // A miss says why.
    assert!(
        report.contains("(MISSED: 3 stories done in this run, taken as one sprint)"),
        "{report}"
    );
    // Another seed: a story blocked after its last attempt, and the one after it.
    let (code, report, _) = demo("3");
    assert_eq!(code, Some(3), "{report}");
    assert!(report.contains("not done after 3 attempts"), "{report}");
    assert!(report.contains("depends on blocked story"), "{report}");
}
