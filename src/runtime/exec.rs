//! The `exec` backend: an agent is a command run as a real child process (`sh -c` with the
//! command template), the prompt on its standard input or in `{prompt}`, in a working
//! directory inside the workspace (inside a story's worktree, when the story has one),
//! killed when its timeout passes.

use super::agent_output::OutputFormat;
use super::backend::{AgentBackend, Invocation, Outcome};
use super::limits::AgentLimits;
use super::process::{Ended, run_spec};
use super::process_mark::RunMarks;
use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// An agent that runs a command.
#[derive(Debug, Clone)]
pub struct ExecBackend {
    /// The command template: `{prompt}`, `{agent}`, `{tasks}`, `{story}`, `{attempt}` and
    /// `{workflow_dir}` are replaced (shell-quoted); `{model}` by `--model <model>` (nothing
    /// when the agent names none), `{tools}` by the CLI's flags for the agent's tools and
    /// `{budget}` by Claude Code's `--max-budget-usd` with the money left (nothing when no
    /// ceiling bounds money, or for other CLIs).
    pub command: String,
    /// Give the prompt on standard input.
    pub stdin: bool,
    /// The working directory, inside the workspace.
    pub cwd: PathBuf,
    /// The workspace root (artifact paths are inside it).
    pub workspace: PathBuf,
    /// Time limit of one task.
    pub timeout: Option<Duration>,
    /// Memory, CPU time and file size limits set on the child process.
    pub limits: AgentLimits,
    /// The directory of the workflow file (`{workflow_dir}`, `BMAD_WORKFLOW_DIR`).
    pub workflow_dir: PathBuf,
    /// What its standard output is (`output`): text, or a coding CLI's JSON.
    pub output: OutputFormat,
    /// The model the agent asks for (`{model}`).
    pub model: Option<String>,
    /// The agent's tools (`{tools}` turns read, write and shell into the CLI's flags).
    pub tools: Vec<String>,
    /// The marks of the run's processes: the agent's tree gets one.
    pub marks: Arc<RunMarks>,
}

/// `text` as one single-quoted shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The last five lines of a command's output.
pub(crate) fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// A CLI's flags for an agent's `tools` (`read`, `write`, `shell`; other names are free
/// words): what lets it edit inside its directory, and run commands, and nothing more.
/// - Claude Code: `--allowedTools` with its tools for each (reading is Read, Glob, Grep;
///   writing Edit, Write; the shell Bash).
/// - Codex: its sandbox, `workspace-write` when it writes (commands run in the sandbox
///   too), else `read-only`.
/// - Gemini CLI: its approval mode, `yolo` with the shell, `auto_edit` when it only writes,
///   else `plan`.
pub fn tool_flags(format: OutputFormat, tools: &[String]) -> String {
    let has = |t: &str| tools.iter().any(|x| x == t);
    match format {
        OutputFormat::Claude => {
            let mut allowed = Vec::new();
            if has("read") || has("write") {
                allowed.extend(["Read", "Glob", "Grep"]);
            }
            if has("write") {
                allowed.extend(["Edit", "Write"]);
            }
            if has("shell") {
                allowed.push("Bash");
            }
            format!("--allowedTools {}", shell_quote(&allowed.join(",")))
        }
        OutputFormat::Codex => {
            let sandbox = if has("write") || has("shell") {
                "workspace-write"
            } else {
                "read-only"
            };
            format!("--sandbox {sandbox}")
        }
        OutputFormat::Gemini => {
            let mode = if has("shell") {
                "yolo"
            } else if has("write") {
                "auto_edit"
            } else {
                "plan"
            };
            format!("--approval-mode {mode}")
        }
        OutputFormat::Text => String::new(),
    }
}

/// The limit a process was stopped for, from the signal that ended it.
fn limit_reached(status: std::process::ExitStatus) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        // Killed itself, or a child that `sh` reports as 128 + the signal.
        let signal = status
            .signal()
            .or_else(|| status.code().filter(|c| *c > 128).map(|c| c - 128));
        match signal {
            Some(libc::SIGXCPU) => Some("CPU time (cpu_time)"),
            Some(libc::SIGXFSZ) => Some("largest file size (disk)"),
            _ => None,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

/// `template` with each `{name}` that `value` knows replaced by its value, in one pass: a
/// value put in is not searched for placeholders again.
fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let found = after
            .find('}')
            .and_then(|close| Some((close, value(&after[..close])?)));
        if let Some((close, v)) = found {
            out.push_str(&v);
            rest = &after[close + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

impl ExecBackend {
    fn command_line(&self, inv: &Invocation) -> String {
        fill(&self.command, |name| {
            Some(match name {
                "workflow_dir" => shell_quote(&self.workflow_dir.to_string_lossy()),
                "model" => self
                    .model
                    .as_ref()
                    .map_or(String::new(), |m| format!("--model {}", shell_quote(m))),
                // Claude Code stops itself past the money left (`error_max_budget_usd`).
                "budget" => match (self.output, inv.budget.usd) {
                    (OutputFormat::Claude, Some(usd)) => format!("--max-budget-usd {usd:.4}"),
                    _ => String::new(),
                },
                "tools" => tool_flags(self.output, &self.tools),
                "prompt" => shell_quote(&inv.prompt),
                "agent" => shell_quote(&inv.agent),
                "tasks" => shell_quote(&inv.tasks.join(",")),
                "story" => shell_quote(inv.story.as_deref().unwrap_or("")),
                "attempt" => inv.attempt.to_string(),
                _ => return None,
            })
        })
    }
}

impl AgentBackend for ExecBackend {
    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let me = self.clone();
        Box::pin(async move {
            let fail = |reason: String| Outcome {
                ok: false,
                feedback: Some(reason),
                ..Outcome::default()
            };
            // A story delivered through git works in its worktree's copy of the directory.
            let cwd = match &inv.tree {
                Some(t) => t
                    .dir
                    .join(me.cwd.strip_prefix(&me.workspace).unwrap_or(Path::new(""))),
                None => me.cwd.clone(),
            };
            let mut spec = super::process::shell_spec(me.command_line(&inv));
            spec.dir = Some(cwd);
            spec.env("BMAD_AGENT", &inv.agent)
                .env("BMAD_TASKS", inv.tasks.join(","))
                .env("BMAD_STORY", inv.story.as_deref().unwrap_or(""))
                .env("BMAD_ATTEMPT", inv.attempt.to_string())
                // In a story delivered through git, its worktree's copy of the workspace:
                // what an agent writes there is committed with the story.
                .env(
                    "BMAD_WORKSPACE",
                    inv.tree.as_ref().map_or(&me.workspace, |t| &t.dir),
                )
                .env("BMAD_STEP", &inv.step)
                .env("BMAD_WORKFLOW_DIR", &me.workflow_dir);
            if let Some(run) = &inv.run {
                spec.env("BMAD_RUN_ID", run);
            }
            if inv.remote {
                spec.env(super::durable::REMOTE_VAR, "1");
            }
            if let Some(t) = &inv.tree {
                spec.env("BMAD_WORKTREE", &t.root);
            }
            let input = me.stdin.then(|| inv.prompt.clone().into_bytes());
            let watch =
                super::budget_watch::budget_watch(me.output, &inv.budget, inv.price.as_ref());
            spec.limits = me.limits.rlimits();
            let ended = run_spec(spec, input, me.timeout, &me.marks, watch).await;
            let (output, stopped) = match ended {
                Ok(Ended::Exited(o)) => (o, None),
                Ok(Ended::Stopped(o, why)) => (o, Some(why)),
                Ok(Ended::TimedOut(t)) => {
                    return fail(format!(
                        "timed out after {t:?}: the agent's processes were killed"
                    ));
                }
                Err(e) => return fail(format!("cannot start `{}`: {e}", me.command)),
            };
            // What it printed is kept, whatever the outcome.
            let transcript = Some(super::backend::Transcript::of(
                &output.stdout,
                &output.stderr,
            ));
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
            // A CLI's JSON read for its message, its errors, its session and usage.
            let read = super::agent_output::read(me.output, &stdout, &stderr);
            let result = read.result.clone();
            let fail = |reason: String| Outcome {
                ok: false,
                feedback: Some(reason),
                transcript: transcript.clone(),
                result: result.clone(),
                transient: read.transient,
                over_budget: read.over_budget,
            };
            if let Some(limit) = limit_reached(output.status) {
                return fail(format!("stopped: it used up its {limit}"));
            }
            // The only watch is the budget's: a stopped CLI passed its share.
            if let Some(why) = stopped {
                return Outcome {
                    over_budget: true,
                    ..fail(format!("stopped: {why}"))
                };
            }
            let worked = output.status.success() && read.error.is_none();
            if inv.validation {
                // A verdict: approved or rejected, with the agent's own words as feedback.
                let words = match &read.error {
                    Some(e) => format!("{e}\n{}", read.message),
                    None => read.message.clone(),
                };
                let (approved, feedback) = super::verdict::judge(worked, &words, &stderr);
                if worked
                    && let Some(Err(e)) = inv
                        .produces
                        .first()
                        .map(|a| a.write_output(read.message.as_bytes()))
                {
                    return fail(e.to_string());
                }
                return Outcome {
                    ok: approved,
                    feedback: (!feedback.is_empty()).then_some(feedback),
                    transcript,
                    result,
                    transient: read.transient.filter(|_| !worked),
                    over_budget: read.over_budget,
                };
            }
            if let Some(e) = &read.error {
                return fail(format!("{e} (it exited with {})", output.status));
            }
            if !output.status.success() {
                let why = tail(&output.stderr);
                let why = if why.is_empty() {
                    tail(read.message.as_bytes())
                } else {
                    why
                };
                return fail(format!("exited with {}: {why}", output.status));
            }
            // Its message goes to the first declared artifact the command did not write.
            if let Some(Err(e)) = inv
                .produces
                .first()
                .map(|a| a.write_output(read.message.as_bytes()))
            {
                return fail(e.to_string());
            }
            Outcome {
                ok: true,
                feedback: None,
                transcript,
                result,
                transient: None,
                over_budget: false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        let value = |name: &str| match name {
            "a" => Some("'{b}'".to_string()),
            "b" => Some("B".to_string()),
            _ => None,
        };
        assert_eq!(fill("x {a} {b} {c} {", value), "x '{b}' B {c} {");
        assert_eq!(fill("{{b}}", value), "{B}");
        assert_eq!(fill("true", value), "true");
    }
}
