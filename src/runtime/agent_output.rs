//! What a coding-agent CLI printed, read: an exec agent declares its output (`output
//! claude|codex|gemini`, `text` when not given) and bmad takes from the CLI's JSON the final
//! message (what goes to the artifact, the feedback and the verdict), whether it failed and
//! why, its session, its turns, its tokens and, where the CLI reports one, its cost. The
//! shapes are those in `../shared/research/agent-clis.md`: Claude Code's one result object
//! (`--output-format json`), Codex's JSONL events (`--json`), Gemini CLI's one object
//! (`-o json`, its error object on standard error).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an exec agent's standard output is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Plain text: the message is the output.
    #[default]
    Text,
    /// Claude Code's result object.
    Claude,
    /// Codex's JSONL events.
    Codex,
    /// Gemini CLI's result object.
    Gemini,
}

impl OutputFormat {
    /// The format named `name` (`bmad check` refuses other names; they read as text).
    pub fn named(name: &str) -> OutputFormat {
        match name {
            "claude" => OutputFormat::Claude,
            "codex" => OutputFormat::Codex,
            "gemini" => OutputFormat::Gemini,
            _ => OutputFormat::Text,
        }
    }

    /// The CLI's name, for messages.
    pub fn cli(self) -> &'static str {
        match self {
            OutputFormat::Text => "the agent",
            OutputFormat::Claude => "Claude Code",
            OutputFormat::Codex => "Codex",
            OutputFormat::Gemini => "Gemini CLI",
        }
    }
}

/// Tokens and cost of one task (or of many, added up), as the CLIs report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input (prompt) tokens, cached ones included.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the CLI's cache.
    pub cached_tokens: u64,
    /// Cost in US dollars, where the CLI reports one (Claude Code does; Codex and Gemini
    /// CLI do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// Adds `other` to this.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_tokens += other.cached_tokens;
        if let Some(c) = other.cost_usd {
            *self.cost_usd.get_or_insert(0.0) += c;
        }
    }
}

/// What a task's CLI said about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentResult {
    /// Its session (Claude Code and Gemini CLI `session_id`, Codex `thread_id`): what
    /// `--resume` takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Its turns (Claude Code `num_turns`, Codex's completed turns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<u64>,
    /// Its tokens and cost.
    #[serde(default)]
    pub usage: Usage,
    /// The model it ran, as the agent names it (or its CLI, for one that names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The cost was computed from the price table (the CLI reported tokens, no cost).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub priced: bool,
}

/// A CLI's output, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    /// Its final message: the text it answered with.
    pub message: String,
    /// Why it failed, when it says so (an error result, a failed turn), even when it
    /// exited 0.
    pub error: Option<String>,
    /// Its session, turns and usage (`None` for plain text).
    pub result: Option<AgentResult>,
    /// Its error is the service's (a rate limit, an overload, no credit) rather than the
    /// task's; plain text is never read for it.
    pub transient: Option<super::transient::Transient>,
    /// It stopped at the budget it was given (Claude Code's `error_max_budget_usd`).
    pub over_budget: bool,
}

/// Reads what an agent printed in `format`.
pub fn read(format: OutputFormat, stdout: &str, stderr: &str) -> Read {
    let mut read = match format {
        OutputFormat::Text => Read {
            message: stdout.to_string(),
            ..Read::default()
        },
        OutputFormat::Claude => claude(stdout),
        OutputFormat::Codex => codex(stdout),
        OutputFormat::Gemini => gemini(stdout, stderr),
    };
    if format != OutputFormat::Text {
        read.transient = read.error.as_deref().and_then(super::transient::classify);
    }
    read
}

/// The last line of `text` that is a JSON object (or the whole text, when it is one).
fn last_object(text: &str) -> Option<Value> {
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(text.trim()) {
        return Some(v);
    }
    text.lines()
        .rev()
        .find_map(|l| match serde_json::from_str::<Value>(l.trim()) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => None,
        })
}

fn text_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// What a CLI printed when it printed no JSON it should have.
fn not_json(format: OutputFormat, stdout: &str) -> Read {
    let tail = super::verdict::last_lines(stdout, 5);
    Read {
        message: stdout.to_string(),
        error: Some(format!(
            "{} printed no JSON result{}",
            format.cli(),
            if tail.is_empty() {
                String::new()
            } else {
                format!(": {tail}")
            }
        )),
        result: None,
        transient: None,
        over_budget: false,
    }
}

/// Claude Code's result object (`--output-format json`, or the last line of
/// `stream-json`). `subtype` can say `success` while `is_error` is true: `is_error` decides.
fn claude(stdout: &str) -> Read {
    let Some(v) = last_object(stdout).filter(|v| v.get("type").is_some_and(|t| t == "result"))
    else {
        return not_json(OutputFormat::Claude, stdout);
    };
    let message = v.get("result").and_then(text_of).unwrap_or_default();
    let subtype = v.get("subtype").and_then(text_of).unwrap_or_default();
    let failed =
        v.get("is_error").and_then(Value::as_bool).unwrap_or(false) || subtype.starts_with("error");
    let usage = v.get("usage").cloned().unwrap_or_default();
    let cached = count(&usage["cache_read_input_tokens"]);
    let created = count(&usage["cache_creation_input_tokens"]);
    Read {
        error: failed.then(|| {
            let what = if subtype.is_empty() || subtype == "success" {
                "error".to_string()
            } else {
                subtype.clone()
            };
            match v.get("api_error_status").and_then(Value::as_u64) {
                Some(status) => {
                    format!("Claude Code reported {what} (API status {status}): {message}")
                }
                None => format!("Claude Code reported {what}: {message}"),
            }
        }),
        result: Some(AgentResult {
            session: v.get("session_id").and_then(text_of),
            turns: v.get("num_turns").and_then(Value::as_u64),
            usage: Usage {
                input_tokens: count(&usage["input_tokens"]) + cached + created,
                output_tokens: count(&usage["output_tokens"]),
                cached_tokens: cached,
                // A cost below zero, or not a number, counts as none (the price table's).
                cost_usd: v
                    .get("total_cost_usd")
                    .and_then(Value::as_f64)
                    .filter(|c| c.is_finite() && *c >= 0.0),
            },
            ..AgentResult::default()
        }),
        message,
        transient: None,
        over_budget: subtype == "error_max_budget_usd",
    }
}

/// Codex's JSONL events (`codex exec --json`): the thread's id, every completed turn's
/// usage added up, the last agent message; a failed turn or an error event is the error
/// when no message came.
fn codex(stdout: &str) -> Read {
    let mut result = AgentResult::default();
    let (mut message, mut failed, mut last_error) = (None, None, None);
    let mut turns = 0;
    let mut any = false;
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        any = true;
        match v.get("type").and_then(Value::as_str).unwrap_or_default() {
            "thread.started" => result.session = v.get("thread_id").and_then(text_of),
            "turn.completed" => {
                turns += 1;
                let u = &v["usage"];
                result.usage.add(&Usage {
                    input_tokens: count(&u["input_tokens"]),
                    output_tokens: count(&u["output_tokens"]),
                    cached_tokens: count(&u["cached_input_tokens"]),
                    cost_usd: None,
                });
            }
            "turn.failed" => {
                failed = v["error"]["message"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| Some(v["error"].to_string()));
            }
            "error" => last_error = v.get("message").and_then(text_of),
            "item.completed" if v["item"]["type"] == "agent_message" => {
                message = v["item"].get("text").and_then(text_of);
            }
            _ => {}
        }
    }
    if !any {
        return not_json(OutputFormat::Codex, stdout);
    }
    result.turns = Some(turns);
    let error = failed
        .or_else(|| message.is_none().then_some(last_error).flatten())
        .map(|e| format!("Codex reported an error: {e}"));
    Read {
        message: message.unwrap_or_default(),
        error,
        result: Some(result),
        transient: None,
        over_budget: false,
    }
}

/// Gemini CLI's result object (`-o json`); an error object, in it or on standard error
/// (where Gemini CLI writes it when it cannot start, exit 41 for auth).
fn gemini(stdout: &str, stderr: &str) -> Read {
    let out = last_object(stdout);
    let error_of = |v: &Value| {
        let e = v.get("error")?;
        Some(
            e.get("message")
                .and_then(text_of)
                .unwrap_or_else(|| e.to_string()),
        )
    };
    let error = out
        .as_ref()
        .and_then(error_of)
        .or_else(|| last_object(stderr).as_ref().and_then(error_of));
    let Some(v) = out else {
        return match error {
            Some(e) => Read {
                error: Some(format!("Gemini CLI reported an error: {e}")),
                ..Read::default()
            },
            None => not_json(OutputFormat::Gemini, stdout),
        };
    };
    let mut usage = Usage::default();
    if let Some(models) = v["stats"]["models"].as_object() {
        for m in models.values() {
            let t = &m["tokens"];
            usage.add(&Usage {
                input_tokens: count(&t["prompt"]).max(count(&t["input"])),
                output_tokens: count(&t["candidates"]),
                cached_tokens: count(&t["cached"]),
                cost_usd: None,
            });
        }
    }
    Read {
        message: v.get("response").and_then(text_of).unwrap_or_default(),
        error: error.map(|e| format!("Gemini CLI reported an error: {e}")),
        result: Some(AgentResult {
            session: v.get("session_id").and_then(text_of),
            turns: None,
            usage,
            ..AgentResult::default()
        }),
        transient: None,
        over_budget: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/clis")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn claude_s_result_gives_the_message_session_turns_tokens_and_cost() {
        let r = read(OutputFormat::Claude, &fixture("claude-success.json"), "");
        assert_eq!(r.error, None);
        assert_eq!(
            r.message,
            "Added the signaling server in server/src/signaling.ts and its test."
        );
        let result = r.result.unwrap();
        assert_eq!(
            result.session.as_deref(),
            Some("0f7c2d1e-5b8a-4c3e-9d21-7a6b5c4d3e2f")
        );
        assert_eq!(result.turns, Some(7));
        assert_eq!(
            result.usage,
            Usage {
                input_tokens: 16_000,
                output_tokens: 2100,
                cached_tokens: 12_000,
                cost_usd: Some(0.1234)
            }
        );
    }

    #[test]
    fn claude_s_errors_are_errors_even_with_subtype_success() {
        // Recorded from the real CLI, offline: exit 1, is_error with subtype success.
        let r = read(
            OutputFormat::Claude,
            &fixture("claude-not-logged-in.json"),
            "",
        );
        assert_eq!(
            r.error.as_deref(),
            Some("Claude Code reported error: Not logged in · Please run /login")
        );
        let r = read(OutputFormat::Claude, &fixture("claude-max-turns.json"), "");
        assert!(
            r.error
                .unwrap()
                .starts_with("Claude Code reported error_max_turns"),
        );
        let r = read(OutputFormat::Claude, "Segmentation fault\n", "");
        assert_eq!(
            r.error.as_deref(),
            Some("Claude Code printed no JSON result: Segmentation fault")
        );
    }

    #[test]
    fn codex_s_events_give_the_last_message_and_the_turns_usage() {
        let r = read(OutputFormat::Codex, &fixture("codex-success.jsonl"), "");
        assert_eq!(r.error, None);
        assert_eq!(r.message, "Added the signaling server and its test.");
        let result = r.result.unwrap();
        assert_eq!(result.turns, Some(1));
        assert_eq!(
            result.usage,
            Usage {
                input_tokens: 24_000,
                output_tokens: 1800,
                cached_tokens: 18_000,
                cost_usd: None
            }
        );
        let r = read(OutputFormat::Codex, &fixture("codex-turn-failed.jsonl"), "");
        assert_eq!(
            r.error.as_deref(),
            Some("Codex reported an error: unexpected status 401 Unauthorized")
        );
        // Recorded offline: reconnecting, no message.
        let r = read(OutputFormat::Codex, &fixture("codex-offline.jsonl"), "");
        assert!(r.error.unwrap().contains("Reconnecting... 5/5"));
    }

    #[test]
    fn gemini_s_object_and_its_error_on_standard_error() {
        let r = read(OutputFormat::Gemini, &fixture("gemini-success.json"), "");
        assert_eq!(r.error, None);
        assert_eq!(r.message, "Added the signaling server and its test.");
        let result = r.result.unwrap();
        assert_eq!(result.usage.input_tokens, 10_000);
        assert_eq!(result.usage.output_tokens, 1300);
        assert_eq!(result.usage.cached_tokens, 4000);
        assert_eq!(result.usage.cost_usd, None);
        // Recorded offline: exit 41, the error on standard error, nothing on standard out.
        let r = read(OutputFormat::Gemini, "", &fixture("gemini-auth.stderr"));
        assert!(
            r.error
                .unwrap()
                .starts_with("Gemini CLI reported an error: Please set an Auth method"),
        );
    }

    #[test]
    fn a_cost_below_zero_or_not_finite_counts_as_none() {
        for cost in ["-5", "-0.01", "\"12\""] {
            let out = format!(
                "{{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"ok\",\"total_cost_usd\":{cost},\"usage\":{{\"input_tokens\":1,\"output_tokens\":1}}}}"
            );
            let r = read(OutputFormat::Claude, &out, "");
            assert_eq!(r.result.unwrap().usage.cost_usd, None, "{cost}");
        }
    }
}
