//! Artifacts live in the workspace: the seed's `/docs/...` paths resolve inside it, a
//! missing artifact stops its handoff or task with the names and path, and a path that
//! leads out of the workspace is refused.

use crate::common;
use crate::harness::fill;

use common::run_in;

#[test]
fn a_handoff_whose_artifact_is_missing_names_the_handoff_the_agent_and_the_path() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
agent pm { backend exec "echo the PRD" }
agent architect { backend exec "true" }
phase ideation {
  pm: write_prd {
    produces prd = "/docs/requirements/prd.md"
  }
  sh "rm docs/requirements/prd.md"
  handoff pm -> architect {
    artifacts prd
  }
  architect: system_design
}
"#;
    let report = run_in(src, ws.path(), false);
    let failed = report.failed.expect("the handoff fails");
    assert!(failed.contains("handoff pm -> architect"), "{failed}");
    assert!(failed.contains("from `pm`"), "{failed}");
    assert!(
        failed.contains("`prd` (/docs/requirements/prd.md)"),
        "{failed}"
    );
    assert!(
        failed.contains(
            &ws.path()
                .canonicalize()
                .unwrap()
                .join("docs/requirements/prd.md")
                .display()
                .to_string()
        ),
        "{failed}"
    );
    let architect_ran = report.events.iter().any(|e| {
        matches!(&e.kind, bmad::runtime::event::EventKind::TaskStarted { agent, .. } if agent == "architect")
    });
    assert!(!architect_ran, "nothing after the failed handoff runs");
}

#[test]
fn the_artifact_a_task_hands_over_is_recorded_with_its_path() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
agent pm { backend exec "echo the PRD" }
agent architect { backend exec "true" }
phase ideation {
  pm: write_prd {
    produces prd = "/docs/requirements/prd.md"
  }
  handoff pm -> architect {
    artifacts prd
    completed write_prd
    pending system_design
    notes "ready"
  }
}
"#;
    let report = run_in(src, ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    let prd = std::fs::read_to_string(ws.path().join("docs/requirements/prd.md")).unwrap();
    assert_eq!(prd, "the PRD\n", "the agent's output is the artifact");
    let handoff = report
        .events
        .iter()
        .find_map(|e| match &e.kind {
            bmad::runtime::event::EventKind::Handoff { artifacts, .. } => Some(artifacts.clone()),
            _ => None,
        })
        .expect("a handoff event");
    assert_eq!(handoff.len(), 1);
    assert_eq!(handoff[0].path, "/docs/requirements/prd.md");
    // sha256 of "the PRD\n": the receiver can tell it got what was written.
    assert_eq!(
        handoff[0].sha256,
        bmad::runtime::digest::sha256_bytes(b"the PRD\n")
    );
    assert_eq!(handoff[0].sha256.len(), 64);
}

#[test]
fn a_task_that_does_not_write_what_it_declares_fails() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
agent architect { backend exec "true" }
phase architecture {
  architect: system_design {
    produces design = "/docs/design.md", api = "/docs/api.yaml"
  }
}
"#;
    let failed = run_in(src, ws.path(), false).failed.expect("fails");
    assert!(
        failed.contains(
            "agent `architect` finished system_design without writing `api` (/docs/api.yaml)"
        ),
        "{failed}"
    );
}

#[test]
fn a_path_out_of_the_workspace_is_refused() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
agent writer { backend exec "echo x" }
phase p {
  writer: write {
    produces "/docs/../../escaped.md"
  }
}
"#;
    // The checker reports it...
    let checked = bmad::check_text("run.bmad", src);
    let codes: Vec<&str> = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(codes, ["bmad::path-outside"]);
    // ...and a run that goes ahead anyway (through the library) refuses it.
    let options = bmad::runtime::RunOptions {
        workspace: ws.path().to_path_buf(),
        ..Default::default()
    };
    let runner = bmad::runtime::Runner::new(checked.program, options).expect("runnable");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let failed = rt.block_on(runner.run()).failed.expect("refused");
    assert!(failed.contains("outside the workspace"), "{failed}");
    assert!(!ws.path().parent().unwrap().join("escaped.md").exists());
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_workspace_is_refused() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("docs")).unwrap();
    let src = r#"
agent writer { backend exec "echo x" }
phase p {
  writer: write {
    produces "/docs/prd.md"
  }
}
"#;
    let failed = run_in(src, ws.path(), false).failed.expect("refused");
    assert!(failed.contains("leads outside the workspace"), "{failed}");
    assert!(
        !outside.path().join("prd.md").exists(),
        "nothing written outside"
    );
}

#[test]
fn a_provided_artifact_must_be_there_before_a_real_run_starts() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
artifact idea = "/docs/input/idea.md" provided
agent analyst { backend exec "echo analysis" }
phase ideation {
  analyst: brainstorming {
    needs idea
  }
}
"#;
    let report = run_in(src, ws.path(), false);
    let failed = report.failed.expect("not started");
    assert!(
        failed.contains("artifact `idea` (/docs/input/idea.md) is provided from outside the run"),
        "{failed}"
    );
    assert_eq!(report.tasks, 0, "no agent ran");
    std::fs::create_dir_all(ws.path().join("docs/input")).unwrap();
    std::fs::write(ws.path().join("docs/input/idea.md"), "video calls").unwrap();
    let report = run_in(src, ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
}

#[test]
fn a_simulation_writes_placeholders_for_every_artifact_of_the_seed() {
    let ws = tempfile::tempdir().unwrap();
    let checked = bmad::check_path(std::path::Path::new("examples/seed-product.bmad"));
    let report = common::run_checked(checked, ws.path(), true, 1);
    assert!(report.ok, "{:?}", report.failed);
    for path in [
        "docs/input/idea.md",
        "docs/requirements/prd.md",
        "docs/architecture/api-spec.yaml",
        "docs/design/design-system.md",
        "docs/architecture/architecture.md",
    ] {
        let text = std::fs::read_to_string(ws.path().join(path)).unwrap_or_default();
        assert!(text.contains("Placeholder written by"), "{path}: {text:?}");
    }
    assert!(
        ws.path().join("docs/stories").is_dir(),
        "a directory artifact"
    );
}

#[test]
fn an_agent_gets_its_story_dependencies_tests_and_context_in_the_prompt() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"
agent architect { backend exec "cat > prompt-architect.txt; echo 'Use WebRTC with a TURN relay.'" stdin }
agent dev {
  prompt "You are a careful developer."
  backend exec "cat > prompt-dev-$BMAD_STORY.txt" stdin
}
agent qa { backend exec "cat > prompt-qa-$BMAD_STORY.txt" stdin }
story "1" backend {
  title "Signaling server"
  create "/server/signaling.ts" template "ws-server"
}
story "2" frontend {
  title "Peer connection"
  from_arch "WebRTC section 3.2"
  after "1"
  modify "/client/webrtc.ts" "Add peer connection logic"
  accept "Peer connection establishes"
}
phase design {
  architect: architecture_doc {
    produces architecture = "/docs/architecture.md"
  }
}
phase development after design {
  for story in stories {
    dev: implement {
      context story, architecture, dependencies
    }
    qa: validate {
      needs architecture
      tests unit, e2e
    }
  }
}
"#;
    let report = run_in(src, ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    let prompt = std::fs::read_to_string(ws.path().join("prompt-dev-2.txt")).unwrap();
    for line in [
        "You are a careful developer.",
        "Tasks: implement",
        "Story 2 (frontend): Peer connection",
        "From the architecture: WebRTC section 3.2",
        "- modify /client/webrtc.ts: Add peer connection logic",
        "- accept: Peer connection establishes",
        "Depends on story 1 (done): Signaling server; files: /server/signaling.ts",
        "## Context: architecture (/docs/architecture.md)",
        "Use WebRTC with a TURN relay.",
    ] {
        assert!(prompt.contains(line), "{line:?} missing from:\n{prompt}");
    }
    let qa = std::fs::read_to_string(ws.path().join("prompt-qa-1.txt")).unwrap();
    assert!(qa.contains("Test types to run: unit, e2e"), "{qa}");
    // What a step needs is named with where it is, and inlined; what it produces is named
    // with where to write it.
    let root = ws.path().canonicalize().unwrap();
    let doc = root.join("docs/architecture.md");
    assert!(
        qa.contains(&format!(
            "Read:\n- `architecture` (/docs/architecture.md): {}",
            doc.display()
        )) && qa.contains("## Needs: architecture (/docs/architecture.md)\nUse WebRTC"),
        "{qa}"
    );
    let architect = std::fs::read_to_string(ws.path().join("prompt-architect.txt")).unwrap();
    assert!(
        architect.contains(&format!(
            "Write:\n- `architecture` (/docs/architecture.md): {}",
            doc.display()
        )),
        "{architect}"
    );
    // The dev's context inlines the architecture; its needs (none) add nothing twice.
    assert_eq!(
        prompt.matches("Use WebRTC with a TURN relay.").count(),
        1,
        "{prompt}"
    );
}

#[cfg(unix)]
#[test]
fn an_agent_working_directory_through_a_symlink_out_is_refused() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("repo")).unwrap();
    let checked = bmad::check_text(
        "cwd.bmad",
        "agent coder {\n  backend exec \"true\" cwd \"/repo\"\n}\nphase p {\n  coder: implement\n}\n",
    );
    assert!(!checked.has_errors());
    let options = bmad::runtime::RunOptions {
        workspace: ws.path().to_path_buf(),
        ..Default::default()
    };
    let err = bmad::runtime::Runner::new(checked.program, options)
        .err()
        .expect("refused");
    assert!(
        matches!(err, bmad::runtime::SetupError::Cwd { ref agent, .. } if agent == "coder"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("agent `coder`: cwd `/repo` leads outside the workspace"),
        "{err}"
    );
}

/// Whether `dir` (outside the workspace) is still empty.
fn untouched(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[cfg(unix)]
#[test]
fn no_write_goes_through_a_link_out_whoever_writes_and_whenever_the_link_appears() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path().display().to_string();
    // Dangling links planted before the run: an exec agent's output, a script agent's
    // output, a simulated placeholder, each through its own link to a file outside.
    let agents = [
        ("exec", "backend exec \"echo written\""),
        ("script", "backend script `\"written\"`"),
        ("sim", "backend sim"),
    ];
    for (kind, backend) in agents {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join("docs")).unwrap();
        symlink(
            outside.path().join(format!("{kind}.md")),
            ws.path().join("docs/out.md"),
        )
        .unwrap();
        let src = fill(
            r#"
            agent a {
              {backend}
            }
            phase p {
              a: write {
                produces "/docs/out.md"
              }
            }
            "#,
            &[("backend", &backend)],
        );
        let simulate = kind == "sim";
        let report = run_in(&src, ws.path(), simulate);
        let failed = report.failed.unwrap_or_default();
        assert!(
            failed.contains("`docs/out.md` is a symbolic link that leads outside"),
            "{kind}: {failed}"
        );
        assert!(untouched(outside.path()), "{kind} wrote through the link");
    }
    // A link the agent makes during its own task, to a directory outside, then writes
    // nothing: bmad's write of its output must not follow it.
    let ws = tempfile::tempdir().unwrap();
    let src = fill(
        r#"
        agent a {
          backend exec "ln -s {out} docs && echo written"
        }
        phase p {
          a: write {
            produces "/docs/made.md"
          }
        }
        "#,
        &[("out", &out)],
    );
    let report = run_in(&src, ws.path(), false);
    let failed = report.failed.unwrap_or_default();
    assert!(
        failed.contains("`docs` is a symbolic link that leads outside"),
        "{failed}"
    );
    assert!(
        untouched(outside.path()),
        "the agent's link was written through"
    );
}

#[test]
fn the_workspace_setting_is_the_workspace_when_none_is_given() {
    let ran = crate::harness::Test::new()
        .file(
            "flows/flow.bmad",
            "import std.roles\nsettings {\n  workspace \"../out\"\n}\nworkflow w { start p }\nphase p {\n  analyst: requirements {\n    produces prd = \"/docs/prd.md\"\n  }\n}\n",
        )
        .args(&["run", "--simulate", "flows/flow.bmad"])
        .run();
    // From the workflow file's directory; the current directory is left alone.
    assert!(ran.path().join("out/docs/prd.md").is_file());
    assert!(ran.path().join("out/.bmad/state.db").is_file());
    assert!(!ran.path().join("docs").exists());
}

#[test]
fn a_notification_file_outside_the_workspace_is_refused_by_the_checker() {
    crate::harness::Test::new()
        .workflow(
            r#"
            workflow w { start p }
            phase p { wait 1s }
            notifications {
              to "../escape.jsonl"
            }
            "#,
        )
        .args(&["check", "flow.bmad"])
        .status(1)
        .stderr_contains("the notification file `../escape.jsonl` leads outside the workspace")
        .run();
}
