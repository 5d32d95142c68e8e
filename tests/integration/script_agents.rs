//! Script agents and conditions run for real: a script agent's output is its artifact, a
//! module function is a QA agent whose feedback goes back to dev, run-time errors and
//! limits fail the step placed in the .bmad file, and a declared secret never leaves the
//! run.

use crate::common;
use crate::harness::fill;

/// Runs `src` (a workflow with script agents) for real in a fresh workspace.
fn run_agents(src: &str) -> (bmad::runtime::Report, tempfile::TempDir) {
    let ws = tempfile::tempdir().unwrap();
    (common::run_in(src, ws.path(), false), ws)
}

#[test]
fn a_script_agent_returns_its_output_as_the_artifact() {
    let src = r#"
agent summariser {
  backend script `"summary of " + task.name + " for " + task.agent`
}
phase p {
  summariser: summarise {
    produces summary = "/docs/summary.md"
  }
}
"#;
    let (report, ws) = run_agents(src);
    assert!(report.ok, "{:?}", report.failed);
    let text = std::fs::read_to_string(ws.path().join("docs/summary.md")).unwrap();
    assert_eq!(text, "summary of summarise for summariser");
}

#[test]
fn a_module_function_is_a_qa_agent_whose_feedback_goes_back_to_dev() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("review.rhai"),
        "fn review(task) {\n  if task.attempt < 2 { #{ ok: false, feedback: \"add tests for \" + task.story } } else { true }\n}\n",
    )
    .unwrap();
    let flow = dir.path().join("flow.bmad");
    std::fs::write(
        &flow,
        r#"import "review.rhai"
agent dev { backend script `"done: " + task.prompt` }
agent qa { backend script review }
story "7" backend { title "t" }
phase development {
  for story in stories {
    repeat max 3 {
      dev: implement
      qa: validate
    } until approved
  }
}
"#,
    )
    .unwrap();
    let report = common::run_checked(bmad::check_path(&flow), dir.path(), false, 1);
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(report.stories_done, ["7"]);
    let feedback: Vec<_> = report
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            bmad::runtime::event::EventKind::TaskFinished {
                agent, feedback, ..
            } if agent == "qa" => Some(feedback.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(feedback, [Some("add tests for 7".to_string()), None]);
}

#[test]
fn a_script_agent_that_fails_at_run_time_is_placed_in_the_bmad_file() {
    let src =
        "agent broken {\n  backend script `let xs = [1]; xs[5]`\n}\nphase p {\n  broken: work\n}\n";
    let (report, _ws) = run_agents(src);
    let failed = report.failed.expect("fails");
    assert!(failed.contains("script agent at run.bmad:2:36"), "{failed}");
}

#[test]
fn a_script_stopped_by_a_limit_fails_its_step_or_goes_on_as_the_workflow_says() {
    // The deadline far away (a loaded machine's debug build may pass the default second):
    // the limit tested is the operation count.
    let looping =
        "settings {\n  script_timeout 10m\n}\nagent spinner {\n  backend script `loop { }`\n}\n";
    let (report, _ws) = run_agents(&format!("{looping}phase p {{\n  spinner: spin\n}}\n"));
    let failed = report.failed.expect("the limit fails the run");
    assert!(failed.contains("script_max_operations"), "{failed}");
    let (report, _ws) = run_agents(&fill(
        r#"
        {looping}agent tidy {
          backend script `true`
        }
        phase p {
          try {
            spinner: spin
          } on failure {
            tidy: clean_up
          }
        }
        "#,
        &[("looping", &looping)],
    ));
    assert!(report.ok, "on_failure goes on: {:?}", report.failed);
    assert_eq!(report.tasks, 2, "the handler ran");
}

#[test]
fn a_condition_that_fails_at_run_time_is_placed_in_the_bmad_file() {
    let src = "agent a {\n  backend script `true`\n}\nphase p {\n  if `[1][3] == 1` {\n    a: x\n  }\n}\n";
    let (report, _ws) = run_agents(src);
    let failed = report.failed.expect("fails");
    assert!(failed.contains("the script at run.bmad:5:"), "{failed}");
}

/// A declared secret never leaves the run: a script agent that puts it in its failure
/// feedback, an exec agent that prints it, a shell step whose failure names it: masked
/// in the log, the report, the store (events, steps, the run's reason, transcripts).
#[test]
fn a_secret_is_masked_in_every_output() {
    let ws = tempfile::tempdir().unwrap();
    let (_dir, flow) = common::temp_file(
        "secret.bmad",
        r#"env DEPLOY_TOKEN secret
agent leaky {
  backend script `#{ ok: false, feedback: "auth failed with " + env("DEPLOY_TOKEN") }`
}
agent printer {
  backend exec "echo token is $DEPLOY_TOKEN; echo and $DEPLOY_TOKEN >&2"
}
phase p {
  printer: show
  repeat max 1 {
    leaky: validate
  } until approved
  sh "echo $DEPLOY_TOKEN; exit 3"
}
"#,
    );
    let report = ws.path().join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(&flow)
        .arg("--workspace")
        .arg(ws.path())
        .arg("--report")
        .arg(&report)
        .arg("--log-format")
        .arg("json")
        .env("DEPLOY_TOKEN", "s3cr3t-t0ken-value")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let secret = "s3cr3t-t0ken-value";
    let mut everything = String::from_utf8_lossy(&out.stdout).into_owned();
    everything.push_str(&String::from_utf8_lossy(&out.stderr));
    everything.push_str(&std::fs::read_to_string(&report).unwrap());
    assert!(everything.contains("auth failed with ***"), "{everything}");
    // The store, read as bytes: every table.
    let db = ws.path().join(".bmad/state.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    for table in ["log", "progress", "runs", "transcripts"] {
        let rows: Vec<String> = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .unwrap()
            .query_map([], |r| {
                let n = r.as_ref().column_count();
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        everything.push_str(&rows.join("\n"));
    }
    assert!(everything.contains("token is ***"), "{everything}");
    assert!(
        !everything.contains(secret),
        "the secret leaked:\n{everything}"
    );
}
