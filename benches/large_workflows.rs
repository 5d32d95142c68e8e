//! Generates the ~50 MB workflows of `benches/large.rs`: a long chain of phases, and a
//! realistic workflow of many areas (agents, artifacts, phases of tasks, stories, checks,
//! heals), both already in `bmad fmt`'s layout.

use std::fmt::Write;

/// `phases` phases, each after the one before, written last first: `phase p{i} after
/// p{i-1}` with one task each (the order that made the old phase order quadratic).
pub(crate) fn chain(phases: usize) -> String {
    let mut s = String::with_capacity(phases * 46 + 32);
    s.push_str("import std.roles\n\n");
    for i in (0..phases).rev() {
        let _ = write!(s, "phase p{i}");
        if i > 0 {
            let _ = write!(s, " after p{}", i - 1);
        }
        s.push_str(" {\n  dev: work\n}\n");
    }
    s
}

/// `areas` areas, each with its own agent and artifact, a phase after the area before
/// (analysis, a parallel design, the area's agent, a bounded dev -> QA loop, a handoff
/// or a script), an epic of five stories after each other, a check and a heal; then a
/// monitor with a rule per heal, and the incident levels.
pub(crate) fn areas(areas: usize) -> String {
    let mut s = String::with_capacity(areas * 2320 + 1024);
    s.push_str("import std.roles\n\nworkflow big {\n  start design_0\n}\n\n");
    s.push_str("limits {\n  per_agent {\n    memory 2GB\n  }\n  global {\n    max_concurrent_agents 8\n    max_memory 32GB\n  }\n}\n\n");
    for u in 0..areas {
        let after = if u > 0 {
            format!(" after design_{}", u - 1)
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "// Area {u}: its own role, a phase of design and build, five stories and a heal.
agent role_{u} {{
  role \"Role {u}\"
  prompt \"You look after area {u}: design, build and review it.\"
  modes quick, deep
  backend sim duration 5m
}}

artifact spec_{u} = \"docs/spec_{u}.md\"

phase design_{u}{after} max 3 {{
  analyst: requirements mode specification {{
    produces brief_{u} = \"docs/brief_{u}.md\"
  }}
  parallel max 2 {{
    architect: system_design {{
      needs brief_{u}
      produces arch_{u} = \"docs/arch_{u}.md\"
    }}
    ux: user_flows, wireframes {{
      needs brief_{u}
    }}
  }}
  role_{u}: implement, review mode deep {{
    needs arch_{u}
    produces spec_{u}
  }}
  repeat max 3 {{
    dev: implement
    qa: validate {{
      tests unit, e2e
    }}
  }} until approved
  if approved {{
    handoff qa -> devops {{
      artifacts arch_{u}
      notes \"Ready for area {u}\"
    }}
  }} else {{
    sh \"./scripts/rework.sh {u}\" timeout 5m
  }}
}}

epic \"{u}\" \"Area {u}\"

"
        );
        for k in 0..5 {
            let kind = if k % 2 == 0 { "frontend" } else { "backend" };
            let _ = write!(
                s,
                "story \"{u}.{k}\" {kind} {{\n  epic \"{u}\"\n  title \"Story {k} of area {u}\"\n"
            );
            if k > 0 {
                let _ = writeln!(s, "  after \"{u}.{}\"", k - 1);
            } else if u > 0 {
                let _ = writeln!(s, "  after \"{}.4\"", u - 1);
            }
            let _ = write!(
                s,
                "  create \"src/area_{u}/feature_{k}.ts\" template \"component\"\n  accept \"Feature {k} of area {u} works\"\n}}\n\n"
            );
        }
        let _ = write!(
            s,
            "check probe_{u} {{
  get \"http://127.0.0.1:8080/health/{u}\" expect 200 timeout 2s
}}

heal heal_{u} {{
  agent self_healer
  attempts 2
  diagnose probe_{u}
  fix restart_{u} {{
    sh \"./scripts/restart.sh {u}\"
    wait 5s
  }}
  verify probe_{u}
  otherwise escalate high
}}

"
        );
    }
    s.push_str("monitor production {\n  agent monitor\n  every 30s\n");
    for u in 0..areas {
        let _ = writeln!(
            s,
            "  pattern \"failure {u}\" severity high => heal heal_{u}"
        );
    }
    s.push_str("}\n\nincidents {\n  level high {\n    agents monitor, operations_manager\n    respond 5m\n  }\n  detection {\n    monitor: detect_incident\n  }\n}\n");
    s
}

/// `text` with every line's indentation taken out: the same workflow, for `bmad fmt` to
/// lay out again.
pub(crate) fn unindented(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for line in text.lines() {
        s.push_str(line.trim_start());
        s.push('\n');
    }
    s
}
