//! The coding agents: `bmad run` with a fake `claude` on PATH (refused simulations,
//! `--agents`, `--allow-sim`), `--dry-run`'s prompts, the std.agents adapters calling fake
//! Claude Code, Codex and Gemini CLIs and reading their JSON, and every flag the adapters
//! use checked against the real CLIs' `--help`.

use crate::common;
use std::path::Path;

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
        let Some(bmad::model::Backend::Exec { command, .. }) =
            std.program.agent(agent).and_then(|a| a.backend.clone())
        else {
            panic!("{agent} is not an exec agent");
        };
        // The template's words, with {tools} for each mix of tools, {model} and {budget} given.
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
                    .replace("{model}", "--model some-model")
                    .replace("{budget}", "--max-budget-usd 1.5000"),
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
