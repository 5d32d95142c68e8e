//! Exec agents are real child processes: shell scripts under tests/fixtures/agents that
//! write files, fail on purpose and outlive their timeout.

use crate::common;

use crate::harness::{Test, dedent, fill, wait_until};
use bmad::runtime::Report;
use bmad::runtime::event::EventKind;
use std::path::Path;
use std::time::Duration;

fn run(src: &str, workspace: &Path) -> Report {
    common::run_in(src, workspace, false)
}

/// Whether process `pid` has ended (a zombie counts as ended), waiting up to 2 s for it.
fn process_gone(pid: u32) -> bool {
    wait_until(Duration::from_secs(2), || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty() || stat.contains(") Z ")
    })
}

#[test]
fn an_exec_agent_works_in_the_workspace_with_its_prompt_on_stdin() {
    let ws = tempfile::tempdir().unwrap();
    let src = fill(
        r#"
        agent coder {
          prompt "You write small, tested changes."
          backend exec "{implement}" stdin timeout 10s
        }
        story "1.1" backend {
          title "Signaling server"
          accept "SDP offers are exchanged"
        }
        phase development {
          for story in stories {
            coder: implement {
              produces "logs/implement.log"
            }
          }
        }
        "#,
        &[("implement", &common::fixture("implement.sh"))],
    );
    let report = run(&src, ws.path());
    assert!(report.ok, "{:?}", report.failed);
    let written = std::fs::read_to_string(ws.path().join("src/story-1.1.txt")).unwrap();
    assert!(
        written.contains("You write small, tested changes."),
        "{written}"
    );
    assert!(
        written.contains("Story 1.1 (backend): Signaling server"),
        "{written}"
    );
    assert!(
        written.contains("accept: SDP offers are exchanged"),
        "{written}"
    );
    // stdout went to the artifact the task declares.
    let log = std::fs::read_to_string(ws.path().join("logs/implement.log")).unwrap();
    assert_eq!(
        log.trim(),
        "implemented implement for story 1.1 (attempt 1)"
    );
    assert_eq!(report.stories_done, ["1.1"]);
}

#[test]
fn a_failing_agent_fails_its_step_and_the_run_names_it() {
    let ws = tempfile::tempdir().unwrap();
    let src = fill(
        r#"
        agent coder {
          backend exec "{fail}"
        }
        phase build {
          coder: implement
        }
        "#,
        &[("fail", &common::fixture("fail.sh"))],
    );
    let report = run(&src, ws.path());
    assert!(!report.ok);
    let failed = report.failed.unwrap();
    assert!(
        failed.contains("phase `build`") && failed.contains("exited with exit status: 1"),
        "{failed}"
    );
    let feedback = report.events.iter().find_map(|e| match &e.kind {
        EventKind::TaskFinished {
            feedback,
            ok: false,
            ..
        } => feedback.clone(),
        _ => None,
    });
    assert!(feedback.unwrap().contains("compile error"));
}

#[test]
fn an_agent_past_its_timeout_is_killed() {
    let ws = tempfile::tempdir().unwrap();
    let src = fill(
        r#"
        agent sleeper {
          backend exec "{slow}" timeout 300ms
        }
        phase build {
          sleeper: implement
        }
        "#,
        &[("slow", &common::fixture("slow.sh"))],
    );
    let report = run(&src, ws.path());
    assert!(report.failed.unwrap().contains("timed out"));
    let pid: u32 = std::fs::read_to_string(ws.path().join("slow.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The child is gone (reaped by the kill, not by its 30 s sleep ending).
    let gone = process_gone(pid);
    assert!(gone, "the agent's process {pid} still runs");
}

#[test]
fn shell_steps_run_for_real_outside_a_simulation() {
    let ws = tempfile::tempdir().unwrap();
    let src = "phase setup {\n  sh \"mkdir -p build && echo ok > build/marker\"\n  sh \"test -f build/marker\"\n}\n";
    let report = run(src, ws.path());
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("build/marker")).unwrap(),
        "ok\n"
    );
    let report = run("phase setup {\n  sh \"exit 3\"\n}\n", ws.path());
    assert!(
        report
            .failed
            .unwrap()
            .contains("exited with exit status: 3")
    );
}

#[test]
fn ctrl_c_stops_the_running_agents_and_exits_130() {
    a_signal_stops_the_running_agents(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_the_running_agents_and_exits_143() {
    a_signal_stops_the_running_agents(libc::SIGTERM, 143);
}

/// `bmad run` stopped by `signal`: agents stopped, exit `code`, recorded as interrupted.
fn a_signal_stops_the_running_agents(signal: i32, code: i32) {
    let ws = tempfile::tempdir().unwrap();
    let flow = ws.path().join("slow.bmad");
    std::fs::write(
        &flow,
        fill(
            r#"
            agent sleeper {
              backend exec "{slow}"
            }
            phase build {
              sleeper: implement
            }
            "#,
            &[("slow", &common::fixture("slow.sh"))],
        ),
    )
    .unwrap();
    let bmad = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args([
            "run",
            flow.to_str().unwrap(),
            "--workspace",
            ws.path().to_str().unwrap(),
            "--report",
            ws.path().join("report.json").to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid_file = ws.path().join("slow.pid");
    let started = wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| !p.trim().is_empty())
    });
    assert!(started, "the agent never started");
    let agent: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: sending a signal to the child we spawned.
    unsafe {
        libc::kill(bmad.id() as i32, signal);
    }
    let out = bmad.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("run interrupted"));
    let gone = process_gone(agent);
    assert!(gone, "the agent's process {agent} survived signal {signal}");
    // The run is recorded as interrupted, with the task that was running.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["ok"], false);
    assert!(
        report["failed"]
            .as_str()
            .unwrap()
            .starts_with("interrupted"),
        "{report}"
    );
    assert_eq!(report["events"][0]["event"], "run_started");
    assert_eq!(report["events"][2]["event"], "task_started");
    // The state store knows it was interrupted, with the task in flight: a resume runs it.
    let store = bmad::state::Store::open(&ws.path().join(".bmad/state.db")).unwrap();
    let run = store.runs().unwrap().remove(0);
    assert_eq!(run.status, bmad::state::RunStatus::Interrupted);
    assert_eq!(store.steps_in_flight(&run.id).unwrap().len(), 1);
}

#[test]
fn an_override_gives_a_stdlib_agent_a_real_backend_and_keeps_its_persona() {
    let ws = tempfile::tempdir().unwrap();
    let src = &dedent(
        r#"
        import std.roles
        override agent analyst {
          backend exec "cat > analyst-prompt.txt" stdin
        }
        phase ideation {
          analyst: brainstorming
        }
        "#,
    );
    let report = run(src, ws.path());
    assert!(report.ok, "{:?}", report.failed);
    let prompt = std::fs::read_to_string(ws.path().join("analyst-prompt.txt")).unwrap();
    // The persona is std.roles', the backend the override's.
    let checked = bmad::check_text("r.bmad", src);
    let persona = checked
        .program
        .agent("analyst")
        .unwrap()
        .prompt
        .clone()
        .unwrap();
    assert!(prompt.starts_with(persona.value.as_str()), "{prompt}");
    assert_eq!(report.tasks, 1);
}

#[test]
fn an_agent_that_never_reads_a_long_prompt_still_meets_its_timeout() {
    let ws = tempfile::tempdir().unwrap();
    // 200 KB of prompt: more than a pipe holds, so writing it blocks until the agent reads.
    let persona = "x".repeat(200_000);
    let src = fill(
        r#"
        agent deaf {
          prompt "{persona}"
          backend exec "sleep 30" stdin timeout 1s
        }
        phase p {
          deaf: listen
        }
        "#,
        &[("persona", &persona)],
    );
    let started = std::time::Instant::now();
    let failed = run(&src, ws.path()).failed.expect("times out");
    assert!(failed.contains("timed out after 1s"), "{failed}");
    assert!(
        started.elapsed().as_secs() < 20,
        "the timeout covers writing the prompt"
    );
}

/// A QA agent that exits 0 but rejects with a verdict line, and a tester that is a verdict
/// only because it says `verdict`: the loop goes round with the agent's own words as the
/// next prompt's feedback, and approves on the second attempt.
#[test]
fn verdict_lines_and_exit_codes_approve_or_reject() {
    let ws = tempfile::tempdir().unwrap();
    let src = r#"agent dev {
  backend exec "cat > prompt-$BMAD_ATTEMPT.txt"  stdin
}
agent qa {
  backend exec "if [ $BMAD_ATTEMPT = 1 ]; then echo looked; echo 'VERDICT: rejected: add a test for b'; else echo '**Verdict:** approved'; fi"
}
agent tester {
  backend exec "test $BMAD_ATTEMPT -gt 1 || { echo '1 failed, 2 passed'; exit 1; }"
}
story "1" backend {
  title "b"
}
phase development {
  for story in stories {
    repeat max 3 {
      dev: implement
      qa: review
      tester: run_pytest {
        verdict
      }
    } until approved
  }
}
"#;
    let report = run(src, ws.path());
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(report.stories_done, ["1"]);
    // Both verdicts of the first attempt rejected: the next prompt has what each said.
    let second = std::fs::read_to_string(ws.path().join("prompt-2.txt")).unwrap();
    assert!(
        second.contains(
            "QA feedback on the last attempt: add a test for b\nlooked\n\n1 failed, 2 passed"
        ),
        "{second}"
    );
    let first = std::fs::read_to_string(ws.path().join("prompt-1.txt")).unwrap();
    assert!(!first.contains("QA feedback"), "{first}");
    let verdicts: Vec<(bool, String)> = report
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskFinished {
                agent,
                ok,
                feedback,
                ..
            } if agent != "dev" => Some((*ok, feedback.clone().unwrap_or_default())),
            _ => None,
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            (false, "add a test for b\nlooked".to_string()),
            (false, "1 failed, 2 passed".to_string()),
            (true, String::new()),
            (true, String::new()),
        ]
    );
    // Without `verdict`, a failing tester fails its step: the story is blocked.
    let ws = tempfile::tempdir().unwrap();
    let plain = src.replace(
        "tester: run_pytest {\n        verdict\n      }",
        "tester: run_pytest",
    );
    let report = run(&plain, ws.path());
    assert_eq!(report.stories_blocked, ["1"], "{report:?}");
    assert!(
        report.blocked_reasons[0].contains("exited with exit status: 1"),
        "{:?}",
        report.blocked_reasons
    );
}

/// Commands name files next to the workflow file with `{workflow_dir}` (or
/// `BMAD_WORKFLOW_DIR`), wherever the workspace is; a run with a blocked story exits 3 and
/// names it.
#[test]
fn commands_find_files_next_to_the_workflow_and_blocked_stories_exit_3() {
    let test = Test::new()
        .file(
            "my flows/agents/dev.sh",
            "echo \"dev for $BMAD_STORY\" > \"dev-$BMAD_STORY.txt\"\n[ \"$BMAD_STORY\" != 2 ]\n",
        )
        .file("my flows/data.txt", "from beside the workflow\n")
        .file(
            "my flows/flow.bmad",
            &dedent(
                r#"
                agent dev {
                  backend exec "sh {workflow_dir}/agents/dev.sh"
                }
                story "1" backend {
                  title "one"
                }
                story "2" backend {
                  title "two"
                }
                phase setup {
                  sh "cp \"$BMAD_WORKFLOW_DIR/data.txt\" copied.txt && cat {workflow_dir}/data.txt > quoted.txt"
                }
                phase development after setup {
                  for story in stories {
                    dev: implement
                  }
                }
                "#,
            ),
        );
    // The workflow by its whole path; the workspace elsewhere.
    let (file, ws) = (
        test.path().join("my flows/flow.bmad"),
        tempfile::tempdir().unwrap(),
    );
    test.arg("run")
        .arg(&file)
        .arg("--workspace")
        .arg(ws.path())
        .status(3)
        .stdout_contains("run finished with 1 blocked story")
        .stdout_contains("blocked       2: exited with")
        .run();
    for f in ["copied.txt", "quoted.txt"] {
        let text = std::fs::read_to_string(ws.path().join(f)).unwrap();
        assert_eq!(text, "from beside the workflow\n");
    }
    let text = std::fs::read_to_string(ws.path().join("dev-1.txt")).unwrap();
    assert_eq!(text, "dev for 1\n");
}
