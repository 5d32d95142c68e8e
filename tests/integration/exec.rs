//! Exec agents are real child processes: shell scripts under tests/fixtures/agents that
//! write files, fail on purpose and outlive their timeout.

use crate::common;

use crate::harness::wait_until;
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
    let src = format!(
        "agent coder {{\n  prompt \"You write small, tested changes.\"\n  backend exec \"{}\" stdin timeout 10s\n}}\n\
story \"1.1\" backend {{\n  title \"Signaling server\"\n  accept \"SDP offers are exchanged\"\n}}\n\
phase development {{\n  for story in stories {{\n    coder: implement {{\n      produces \"logs/implement.log\"\n    }}\n  }}\n}}\n",
        common::fixture("implement.sh")
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
    let src = format!(
        "agent coder {{\n  backend exec \"{}\"\n}}\nphase build {{\n  coder: implement\n}}\n",
        common::fixture("fail.sh")
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
    let src = format!(
        "agent sleeper {{\n  backend exec \"{}\" timeout 300ms\n}}\nphase build {{\n  sleeper: implement\n}}\n",
        common::fixture("slow.sh")
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
        format!("agent sleeper {{\n  backend exec \"{}\"\n}}\nphase build {{\n  sleeper: implement\n}}\n", common::fixture("slow.sh")),
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
    assert_eq!(run.status, "interrupted");
    assert_eq!(store.steps_in_flight(&run.id).unwrap().len(), 1);
}

#[test]
fn an_override_gives_a_stdlib_agent_a_real_backend_and_keeps_its_persona() {
    let ws = tempfile::tempdir().unwrap();
    let src = "import std.roles\n\
override agent analyst {\n  backend exec \"cat > analyst-prompt.txt\" stdin\n}\n\
phase ideation {\n  analyst: brainstorming\n}\n";
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
    let src = format!(
        "agent deaf {{\n  prompt \"{persona}\"\n  backend exec \"sleep 30\" stdin timeout 1s\n}}\nphase p {{\n  deaf: listen\n}}\n"
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
    let flows = tempfile::tempdir().unwrap();
    let dir = flows.path().join("my flows");
    std::fs::create_dir_all(dir.join("agents")).unwrap();
    std::fs::write(
        dir.join("agents/dev.sh"),
        "echo \"dev for $BMAD_STORY\" > \"dev-$BMAD_STORY.txt\"\n[ \"$BMAD_STORY\" != 2 ]\n",
    )
    .unwrap();
    std::fs::write(dir.join("data.txt"), "from beside the workflow\n").unwrap();
    let file = dir.join("flow.bmad");
    std::fs::write(
        &file,
        r#"agent dev {
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
    )
    .unwrap();
    let ws = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(&file)
        .arg("--workspace")
        .arg(ws.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("run finished with 1 blocked story")
            && stdout.contains("blocked       2: exited with"),
        "{stdout}"
    );
    for f in ["copied.txt", "quoted.txt"] {
        let text = std::fs::read_to_string(ws.path().join(f)).unwrap();
        assert_eq!(text, "from beside the workflow\n");
    }
    let text = std::fs::read_to_string(ws.path().join("dev-1.txt")).unwrap();
    assert_eq!(text, "dev for 1\n");
}

/// `bmad run` of the hello example in a fresh workspace with `args`, a fake `claude` (a
/// shell script that prints its role line and its tasks) first on PATH.
fn hello_with_fake_claude(args: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    run_with_fake_claude(&root.join("examples/hello.bmad"), args)
}

/// `bmad run FLOW` in a fresh workspace (with `input/idea.md`) with `args`, the fake
/// `claude` first on PATH.
fn run_with_fake_claude(flow: &Path, args: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let bin = tempfile::tempdir().unwrap();
    let claude = bin.path().join("claude");
    // `claude -p ... --output-format json`, the prompt on stdin: the answer (a result
    // object) is the prompt's persona and tasks.
    std::fs::write(
        &claude,
        r#"#!/bin/sh
[ "$1" = -p ] || exit 9
lines=$(grep -E '^(You |Tasks:)' | awk '{printf "%s\\n", $0}')
printf '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"%s","session_id":"s1","usage":{"input_tokens":10,"output_tokens":5}}\n' "$lines"
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("input")).unwrap();
    std::fs::write(ws.path().join("input/idea.md"), "# Idea\nVideo calls.\n").unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(flow)
        .arg("--workspace")
        .arg(ws.path())
        .args(args)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out, ws)
}

/// A real run of simulated agents is refused and says what to do; `--agents claude_code`
/// gives the std.roles agents the Claude Code adapter (each keeps its persona);
/// `--allow-sim` runs them simulated, saying so.
#[test]
fn simulated_agents_are_refused_bound_to_an_adapter_or_allowed() {
    let (out, _) = hello_with_fake_claude(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("these agents are simulated")
            && stderr.contains("`analyst`, `pm`")
            && stderr.contains("--agents claude_code"),
        "{stderr}"
    );

    let (out, ws) = hello_with_fake_claude(&["--agents", "claude_code"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let prd = std::fs::read_to_string(ws.path().join("docs/prd.md")).unwrap();
    assert_eq!(
        prd,
        "You turn a raw product idea into an initial PRD and a market analysis.\nTasks: requirements\n"
    );

    let (out, ws) = hello_with_fake_claude(&["--agents", "nobody"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no agent adapter `nobody`: std.agents has claude_code, codex, gemini"),
        "{stderr}"
    );
    assert!(!ws.path().join("docs").exists());

    let (out, _) = hello_with_fake_claude(&["--allow-sim", "--simulate"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--allow-sim goes with a real run"
    );

    // The binding as a line of the workflow.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hello = std::fs::read_to_string(root.join("examples/hello.bmad")).unwrap();
    let (_dir, bound) = common::temp_file(
        "bound.bmad",
        &format!("{hello}\nsettings {{\n  agents claude_code\n}}\n"),
    );
    let (out, ws) = run_with_fake_claude(&bound, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ws.path().join("docs/prd-refined.md").is_file());

    // --allow-sim runs a simulated agent on the wall clock, and says so first.
    let (_dir, sim) = common::temp_file(
        "sim.bmad",
        "agent quick {\n  backend sim duration 10ms\n}\nphase p {\n  quick: think\n}\n",
    );
    let (out, _) = run_with_fake_claude(&sim, &["--allow-sim"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("note: these agents are simulated (--allow-sim): `quick`"),
        "{stderr}"
    );
}

/// `--dry-run` prints each prompt in order, with the inputs the workflow takes from the
/// workspace, and touches nothing: no agent runs, nothing is written, no run is recorded.
#[test]
fn a_dry_run_prints_every_prompt_and_touches_nothing() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("input")).unwrap();
    std::fs::write(ws.path().join("input/idea.md"), "# Idea\nVideo calls.\n").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg("--dry-run")
        .arg(root.join("examples/hello.bmad"))
        .arg("--workspace")
        .arg(ws.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let first = stdout.find("── prompt 1: analyst: requirements, at ideation/0 ──");
    let second = stdout.find("── prompt 2: pm: validate_business_value, define_success_metrics");
    assert!(first.is_some() && second > first, "{stdout}");
    assert!(
        stdout.contains("Mode: specification")
            && stdout.contains("## Needs: idea (input/idea.md)\n# Idea\nVideo calls.")
            && stdout.contains("- `prd` (docs/prd.md): "),
        "{stdout}"
    );
    assert!(stderr.contains("2 prompt(s)"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(ws.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["input"], "the workspace is as it was");
}

/// `bmad run FLOW` with the fake coding CLIs (tests/fixtures/clis/bin) first on PATH and
/// `env`; the output, the report and what the CLI recorded of how it was called.
fn run_with_fake_clis(
    flow: &str,
    env: &[(&str, String)],
) -> (
    std::process::Output,
    serde_json::Value,
    String,
    tempfile::TempDir,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("tests/fixtures/clis/bin");
    let ws = tempfile::tempdir().unwrap();
    let (_dir, file) = common::temp_file("cli.bmad", flow);
    let report = ws.path().join("report.json");
    let log = ws.path().join("cli.log");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(&file)
        .arg("--workspace")
        .arg(ws.path())
        .arg("--report")
        .arg(&report)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("CLI_LOG", &log)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let called = std::fs::read_to_string(&log).unwrap_or_default();
    (out, report, called, ws)
}

fn cli_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clis")
        .join(name)
        .display()
        .to_string()
}

/// The std.agents adapters run their CLI non-interactively with the agent's tools, model
/// and JSON output; bmad takes the final message for the artifact and the session, turns,
/// tokens and cost for the report.
#[test]
fn coding_cli_adapters_are_called_with_their_flags_and_their_json_is_read() {
    let flow = r#"import std.agents
override agent claude_code {
  model "claude-sonnet-4-5"
}
phase build {
  claude_code: implement {
    produces "notes/claude.md"
  }
}
"#;
    let (out, report, called, ws) = run_with_fake_clis(
        flow,
        &[
            ("CLI_OUT", cli_fixture("claude-success.json")),
            ("CLI_EDIT", "edited.txt".into()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Called as `claude -p` with its flags, the prompt on standard input.
    let args: Vec<&str> = called.lines().collect();
    assert_eq!(
        &args[..10],
        [
            "== claude",
            "-p",
            "--output-format",
            "json",
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            "Read,Glob,Grep,Edit,Write,Bash",
            "--model",
            "claude-sonnet-4-5"
        ]
    );
    assert!(called.contains("== stdin\nTasks: implement"), "{called}");
    // The artifact is the final message, not the JSON; the edit it made is there.
    assert_eq!(
        std::fs::read_to_string(ws.path().join("notes/claude.md")).unwrap(),
        "Added the signaling server in server/src/signaling.ts and its test."
    );
    assert!(ws.path().join("edited.txt").is_file());
    // Tokens and cost in the report, per agent and in all.
    assert_eq!(report["usage"]["tasks"], 1, "{report}");
    assert_eq!(report["usage"]["total"]["input_tokens"], 16_000);
    assert_eq!(report["usage"]["total"]["cached_tokens"], 12_000);
    assert_eq!(report["usage"]["total"]["cost_usd"], 0.1234);
    assert_eq!(
        report["usage"]["by_agent"]["claude_code"]["output_tokens"],
        2100
    );
    let finished = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "task_finished")
        .unwrap();
    assert_eq!(
        finished["result"]["session"],
        "0f7c2d1e-5b8a-4c3e-9d21-7a6b5c4d3e2f"
    );
    assert_eq!(finished["result"]["turns"], 7);
    assert!(
        stdout.contains("tokens        16k in (12k cached), 2.1k out, $0.1234 (1 task(s)"),
        "{stdout}"
    );
    // And in `bmad runs show`.
    let shown = common::bmad(&[
        "runs",
        "--workspace",
        ws.path().to_str().unwrap(),
        "show",
        "2",
    ]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("tokens        16k in"), "{shown}");

    // Codex and Gemini CLI: their sandbox and approval flags, their JSON read.
    let flow = "import std.agents\nphase build {\n  codex: implement {\n    produces \"notes/x.md\"\n  }\n}\n";
    let (out, _, called, ws) =
        run_with_fake_clis(flow, &[("CLI_OUT", cli_fixture("codex-success.jsonl"))]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        called.starts_with(
            "== codex\nexec\n--json\n--skip-git-repo-check\n--sandbox\nworkspace-write\n-\n"
        ),
        "{called}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("notes/x.md")).unwrap(),
        "Added the signaling server and its test."
    );
    let flow = "import std.agents\noverride agent gemini {\n  tools read\n}\nphase build {\n  gemini: review_code {\n    produces \"notes/g.md\"\n  }\n}\n";
    let (out, _, called, _) =
        run_with_fake_clis(flow, &[("CLI_OUT", cli_fixture("gemini-success.json"))]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        called.contains("--skip-trust\n--approval-mode\nplan\n-p\nDo the tasks described above.\n"),
        "{called}"
    );
}

/// Each CLI's failures, as the real ones fail: Claude Code's error result (subtype
/// `success`, `is_error` true, exit 1), Gemini CLI's error object on standard error (exit
/// 41), Codex's endless reconnecting ended by the timeout; and a verdict in a result.
#[test]
fn coding_cli_failures_and_verdicts_are_read_from_their_json() {
    let reason = |report: &serde_json::Value| report["failed"].as_str().unwrap_or("").to_string();
    let flow = "import std.agents\nphase build {\n  claude_code: implement\n}\n";
    let (out, report, _, _) = run_with_fake_clis(
        flow,
        &[
            ("CLI_OUT", cli_fixture("claude-not-logged-in.json")),
            ("CLI_EXIT", "1".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        reason(&report).contains("Claude Code reported error: Not logged in · Please run /login (it exited with exit status: 1)"),
        "{}",
        reason(&report)
    );
    let flow = "import std.agents\nphase build {\n  gemini: implement\n}\n";
    let (out, report, _, _) = run_with_fake_clis(
        flow,
        &[
            ("CLI_ERR", cli_fixture("gemini-auth.stderr")),
            ("CLI_EXIT", "41".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        reason(&report).contains("Gemini CLI reported an error: Please set an Auth method"),
        "{}",
        reason(&report)
    );
    let flow = "import std.agents\noverride agent codex {\n  backend exec \"codex exec --json --skip-git-repo-check {tools} -\" stdin output codex timeout 1s\n}\nphase build {\n  codex: implement\n}\n";
    let (out, report, _, _) = run_with_fake_clis(
        flow,
        &[
            ("CLI_OUT", cli_fixture("codex-offline.jsonl")),
            ("CLI_SLEEP", "30".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        reason(&report).contains("timed out after 1s"),
        "{}",
        reason(&report)
    );

    // A verdict: Claude's final message rejects; the next attempt's prompt has its words.
    let verdict = tempfile::tempdir().unwrap();
    let rejecting = verdict.path().join("reject.json");
    std::fs::write(
        &rejecting,
        std::fs::read_to_string(cli_fixture("claude-success.json"))
            .unwrap()
            .replace(
                "Added the signaling server in server/src/signaling.ts and its test.",
                "The test of offers is missing.\\nVERDICT: rejected: add the offer test",
            ),
    )
    .unwrap();
    let flow = "import std.agents\nagent dev {\n  backend exec \"cat > prompt-$BMAD_ATTEMPT.txt\" stdin\n}\nphase build {\n  repeat max 2 {\n    dev: implement\n    claude_code: review\n  } until approved\n}\n";
    let (out, _, _, ws) = run_with_fake_clis(flow, &[("CLI_OUT", rejecting.display().to_string())]);
    assert_eq!(out.status.code(), Some(1), "rejected twice");
    let second = std::fs::read_to_string(ws.path().join("prompt-2.txt")).unwrap();
    assert!(
        second.contains(
            "QA feedback on the last attempt: add the offer test\nThe test of offers is missing."
        ),
        "{second}"
    );
}

/// Every flag (and flag value) the std.agents adapters give their CLI, for every mix of
/// tools and with a model, is in that CLI's own `--help`: the real CLIs, installed from npm
/// by .ci/run into the directory `BMAD_AGENT_CLIS` names. Without it (npm unavailable) the
/// test says so and checks nothing.
#[test]
fn every_flag_the_adapters_use_is_in_the_real_clis_help() {
    let Ok(dir) = std::env::var("BMAD_AGENT_CLIS") else {
        eprintln!(
            "SKIPPED: BMAD_AGENT_CLIS is not set: the coding-agent CLIs were not installed \
             (.ci/run installs them with npm when npm is available)"
        );
        return;
    };
    let bin = Path::new(&dir).join("node_modules/.bin");
    let std = bmad::check_text("std.bmad", "import std.agents\n");
    assert!(!std.has_errors(), "{}", common::rendered(&std));
    let mut checked = 0;
    for (agent, cli, help_args, format) in [
        (
            "claude_code",
            "claude",
            &["--help"][..],
            bmad::runtime::agent_output::OutputFormat::Claude,
        ),
        (
            "codex",
            "codex",
            &["exec", "--help"][..],
            bmad::runtime::agent_output::OutputFormat::Codex,
        ),
        (
            "gemini",
            "gemini",
            &["--help"][..],
            bmad::runtime::agent_output::OutputFormat::Gemini,
        ),
    ] {
        let out = std::process::Command::new(bin.join(cli))
            .args(help_args)
            .output()
            .unwrap_or_else(|e| panic!("{cli} --help: {e}"));
        let help = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(help.len() > 200, "{cli} printed no help: {help}");
        let Some(bmad::syntax::ast::Backend::Exec { command, .. }) =
            std.program.agent(agent).and_then(|a| a.backend.clone())
        else {
            panic!("{agent} is not an exec agent");
        };
        // The template's words, with {tools} for each mix of tools and {model} given.
        let mut lines = Vec::new();
        for tools in [
            &["read"][..],
            &["read", "write"],
            &["read", "write", "shell"],
        ] {
            let tools: Vec<String> = tools.iter().map(|t| t.to_string()).collect();
            lines.push(
                command
                    .value
                    .replace("{tools}", &bmad::runtime::exec::tool_flags(format, &tools))
                    .replace("{model}", "--model some-model"),
            );
        }
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            for (i, w) in words.iter().enumerate() {
                let Some(flag) = w
                    .strip_prefix("--")
                    .or_else(|| w.strip_prefix('-').filter(|f| f.len() == 1))
                else {
                    continue;
                };
                let written = if w.starts_with("--") {
                    format!("--{flag}")
                } else {
                    format!("-{flag}")
                };
                assert!(
                    help.contains(&format!("{written} "))
                        || help.contains(&format!("{written},"))
                        || help.contains(&format!("{written}\n")),
                    "{cli} has no flag `{written}` (std.agents `{agent}`): {help}"
                );
                // A value from a list of choices is one of them.
                if let Some(value) = words.get(i + 1).map(|v| v.trim_matches('\''))
                    && !value.starts_with('-')
                    && matches!(
                        flag,
                        "output-format" | "permission-mode" | "sandbox" | "approval-mode"
                    )
                {
                    assert!(
                        help.contains(value),
                        "{cli} `{written}` has no choice `{value}`: {help}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} flags checked");
    eprintln!("checked {checked} flag uses against the real CLIs' help");
}
