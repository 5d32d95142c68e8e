//! Generates large, valid workflows for the benchmarks: stories in a dependency DAG,
//! healing procedures with checks, monitors that call them.

use std::fmt::Write;

/// A workflow with `stories` stories and `procedures` healing procedures.
pub(crate) fn workflow(stories: usize, procedures: usize) -> String {
    let mut s = String::with_capacity(stories * 260 + procedures * 420);
    s.push_str("import std.roles\n\nworkflow big {\n  start planning\n}\n\n");
    s.push_str("limits {\n  per_agent {\n    memory 2GB\n  }\n  global {\n    max_concurrent_agents 8\n    max_memory 32GB\n  }\n}\n\n");
    s.push_str("phase planning max 3 {\n  sm: create_epics {\n    produces backlog = \"docs/backlog.md\"\n  }\n}\n\n");
    s.push_str("phase development after planning max 5 {\n  for story in stories max 5 {\n    assign dev by story.type {\n      frontend => ui_dev\n      backend => backend_dev\n    }\n    repeat max 3 {\n      dev: implement {\n        context story, backlog, dependencies\n      }\n      qa: validate {\n        tests unit, e2e\n      }\n    } until approved\n  }\n}\n\n");
    s.push_str("epic \"1\" \"Everything\"\n\n");
    for i in 0..stories {
        let kind = if i % 2 == 0 { "frontend" } else { "backend" };
        let _ = write!(
            s,
            "story \"1.{i}\" {kind} {{\n  epic \"1\"\n  title \"Story {i}\"\n"
        );
        if i > 0 {
            let _ = write!(s, "  after \"1.{}\"", i - 1);
            if i > 7 {
                let _ = write!(s, ", \"1.{}\"", i - 7);
            }
            s.push('\n');
        }
        let _ = write!(
            s,
            "  create \"src/feature_{i}.ts\" template \"component\"\n  accept \"Feature {i} works\"\n}}\n"
        );
    }
    s.push_str("\nmonitor production {\n  agent monitor\n  every 30s\n");
    for i in 0..procedures {
        let _ = writeln!(
            s,
            "  pattern \"failure {i}\" severity high => heal heal_{i}"
        );
    }
    s.push_str("}\n\nincidents {\n  level high {\n    agents monitor, operations_manager\n    respond 5m\n  }\n  detection {\n    monitor: detect_incident\n  }\n}\n\n");
    for i in 0..procedures {
        let _ = write!(
            s,
            "check probe_{i} {{\n  get \"http://127.0.0.1:8080/health/{i}\" expect 200 timeout 2s\n}}\n\nheal heal_{i} {{\n  agent self_healer\n  attempts 2\n  diagnose probe_{i}\n  fix restart_{i} {{\n    sh \"./scripts/restart.sh {i}\"\n    wait 5s\n  }}\n  fix reset_{i} {{\n    sh \"./scripts/reset.sh {i}\" timeout 1m\n  }}\n  verify probe_{i}\n  otherwise escalate high\n}}\n\n"
        );
    }
    s
}
