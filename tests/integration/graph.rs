//! `bmad graph`: the seed example drawn reproduces the seed's diagrams (the phase flow with
//! parallel agents, decisions and handoffs; the monitoring loop; self-healing; maintenance;
//! the critical failure response), the story DAG, and DOT that Graphviz renders.

use crate::common;
use crate::harness::Test;

use std::collections::HashMap;

/// The edges of a Mermaid flowchart as (from label, to label, edge label).
fn edges(mermaid: &str) -> Vec<(String, String, String)> {
    let mut labels = HashMap::new();
    for line in mermaid.lines().map(str::trim) {
        let Some(id) = line.split(['[', '{', '(']).next() else {
            continue;
        };
        if id.starts_with('n') && !line.contains("-->") && !line.starts_with("subgraph") {
            let rest = &line[id.len()..];
            let (Some(a), Some(b)) = (rest.find('"'), rest.rfind('"')) else {
                continue;
            };
            let text = &rest[a + 1..b];
            labels.insert(
                id.to_string(),
                text.replace("#quot;", "\"")
                    .replace("#gt;", ">")
                    .replace("#lt;", "<"),
            );
        }
    }
    mermaid
        .lines()
        .filter_map(|l| {
            let (from, rest) = l.trim().split_once(" -->")?;
            let (label, to) = match rest.trim().strip_prefix("|\"") {
                Some(r) => {
                    let (label, to) = r.split_once("\"|")?;
                    (label.to_string(), to.trim())
                }
                None => (String::new(), rest.trim()),
            };
            Some((labels.get(from)?.clone(), labels.get(to)?.clone(), label))
        })
        .collect()
}

fn graph(args: &[&str]) -> String {
    let mut all = vec!["graph"];
    all.extend(args);
    let out = common::bmad(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn has(edges: &[(String, String, String)], from: &str, to: &str, label: &str) -> bool {
    edges
        .iter()
        .any(|(f, t, l)| f.starts_with(from) && t.starts_with(to) && l.starts_with(label))
}

#[track_caller]
fn expect(edges: &[(String, String, String)], from: &str, to: &str, label: &str) {
    assert!(
        has(edges, from, to, label),
        "no edge `{from}` -{label}-> `{to}` in:\n{}",
        edges
            .iter()
            .map(|(f, t, l)| format!("{f} -{l}-> {t}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_phase_flow_reproduces_the_seed_diagrams() {
    let e = edges(&graph(&["examples/seed-product.bmad", "--only", "phases"]));
    // Ideation: the analyst's PRD refined by the PM, handed to the architect.
    expect(
        &e,
        "analyst: brainstorming",
        "pm: validate_business_value",
        "",
    );
    expect(
        &e,
        "pm: validate_business_value",
        "handoff pm -> architect",
        "",
    );
    // Architecture: architect and UX in parallel from the refined PRD, joined.
    expect(
        &e,
        "handoff pm -> architect",
        "architect: system_design",
        "",
    );
    expect(&e, "handoff pm -> architect", "ux: user_flows", "");
    expect(&e, "ux: user_flows", "architect: technical_spec", "");
    // Development: agent assignment by story type, the dev -> QA loop, then a PR.
    expect(&e, "assign dev by story.type", "ui_dev", "frontend");
    expect(&e, "assign dev by story.type", "backend_dev", "backend");
    expect(&e, "assign dev by story.type", "devops", "infrastructure");
    expect(&e, "story_qa: validate", "approved?", "");
    expect(&e, "approved?", "dev: implement", "no: again, at most 3");
    expect(&e, "approved?", "git_manager: create_pr", "yes");
    // QA of the release: approve, or back to the operations manager.
    expect(&e, "approved?", "qa: approve_pr", "yes");
    expect(&e, "approved?", "alert operations_manager", "no");
    // Deployment through the environments, then monitoring.
    expect(&e, "deploy dev by devops", "deploy staging by devops", "");
    expect(&e, "deploy staging by devops", "deploy prod by devops", "");
    expect(&e, "deploy prod by devops", "watch production", "");
}

#[test]
fn the_operations_reproduce_monitoring_healing_maintenance_and_critical_failure() {
    let e = edges(&graph(&["examples/seed-operations.bmad", "--only", "ops"]));
    // The monitoring loop: checks by type, then what each status triggers.
    expect(&e, "monitor production", "health api", "health");
    expect(
        &e,
        "monitor production",
        "metric response_time of api > 200ms",
        "performance",
    );
    expect(
        &e,
        "monitor production",
        "pattern \"WebRTC connection failed\"",
        "errors",
    );
    expect(
        &e,
        "metric response_time of api",
        "alert operations_manager",
        "breached",
    );
    // What a rule starts is on another page: the edge ends at a stand-in naming it, and
    // that page has one for the rule.
    expect(
        &e,
        "pattern \"WebRTC connection failed\"",
        "heal webrtc_connection_failure (on page heals)",
        "matches: heal webrtc_connection_failure",
    );
    expect(
        &e,
        "monitor production: pattern \"WebRTC connection failed\"",
        "agent self_healer",
        "matches: heal webrtc_connection_failure",
    );
    expect(
        &e,
        "status critical",
        "procedure critical_failure (on page procedures)",
        "is: call critical_failure",
    );
    expect(
        &e,
        "monitor production: status critical",
        "operations_manager: assemble_response_team",
        "is: call critical_failure",
    );
    // Self-healing: diagnose, apply a fix, verify; no fix: escalate to the level.
    expect(
        &e,
        "diagnose stun_server_connectivity",
        "sh systemctl restart webrtc-service",
        "",
    );
    expect(&e, "verify establish_test_connection", "healed", "yes");
    expect(
        &e,
        "verify establish_test_connection",
        "sh ./scripts/refresh-turn-creds.sh",
        "no",
    );
    expect(&e, "no fix verified", "escalate high", "otherwise");
    expect(&e, "escalate high", "incident levels: level high", "");
    expect(
        &e,
        "heal webrtc_connection_failure: escalate high",
        "level high",
        "",
    );
    expect(&e, "level high", "level critical", "unanswered");
    // Scheduled maintenance: cron trigger, the work, verify, report.
    expect(
        &e,
        "cron trigger: operations_manager",
        "devops: apply_updates",
        "",
    );
    expect(&e, "devops: apply_updates", "verify services_healthy", "");
    expect(&e, "verify services_healthy", "report: updates applied", "");
    // The critical failure response: partial vs full outage.
    expect(
        &e,
        "operations_manager: assemble_response_team",
        "system.status",
        "",
    );
    expect(
        &e,
        "system.status",
        "isolate affected_systems",
        "partial_outage",
    );
    expect(
        &e,
        "heal webrtc_connection_failure",
        "operations_manager: gradual_recovery",
        "",
    );
    expect(
        &e,
        "heal webrtc_connection_failure",
        "operations_manager: manual_intervention",
        "fails",
    );
    expect(
        &e,
        "system.status",
        "all_available: emergency_recovery",
        "full_outage",
    );
    expect(&e, "all_available: emergency_recovery", "rollback prod", "");
    expect(&e, "rollback prod", "monitor: monitor_recovery", "");
    expect(
        &e,
        "operations_manager: gradual_recovery",
        "monitor: monitor_recovery",
        "",
    );
    // The incident levels lead into the response workflow.
    expect(&e, "level low", "monitor: detect_incident", "response");
}

#[test]
fn the_story_dag_follows_after() {
    let (_dir, file) = common::temp_file(
        "s.bmad",
        "story \"1\" backend {\n  title \"API\"\n}\nstory \"2\" frontend {\n  title \"UI\"\n  after \"1\"\n}\nstory \"3\" infrastructure {\n  after \"1\", \"2\"\n}\n",
    );
    let e = edges(&graph(&[file.to_str().unwrap(), "--only", "stories"]));
    expect(&e, "1 (backend) API", "2 (frontend) UI", "");
    expect(&e, "1 (backend)", "3 (infrastructure)", "");
    expect(&e, "2 (frontend)", "3 (infrastructure)", "");
    assert_eq!(e.len(), 3);
}

#[test]
fn graphviz_renders_the_dot_of_every_example() {
    let dot = std::process::Command::new("dot").arg("-V").output();
    assert!(
        dot.is_ok(),
        "Graphviz's `dot` is needed (apt-get install graphviz; .ci/run installs it)"
    );
    for file in [
        "examples/seed-product.bmad",
        "examples/seed-operations.bmad",
        "examples/self-healing.bmad",
        "examples/hello.bmad",
    ] {
        let text = graph(&[file, "--format", "dot"]);
        let out = common::run_with_stdin("dot", &["-Tsvg"], &text);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{file}: dot said: {stderr}"
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("<svg"),
            "{file}"
        );
    }
}

#[test]
fn a_workflow_with_errors_is_not_drawn() {
    Test::new()
        .workflow(
            r#"
            phase p {
              ghost: haunt
            }
            "#,
        )
        .args(&["graph", "flow.bmad"])
        .status(1)
        .stdout("")
        .run();
}

#[test]
fn only_a_part_the_workflow_lacks_says_there_is_nothing_to_draw() {
    crate::harness::Test::new()
        .at_root()
        .args(&["graph", "examples/hello.bmad", "--only", "ops"])
        .stdout("")
        .stderr_contains("nothing to draw: `examples/hello.bmad` has no operations")
        .run();
}
