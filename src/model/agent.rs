//! Agents as written: their backend, limits, persona and tools.

use crate::model::step::{Count, Name, Quantity, Script, Text};
use crate::source::Span;
use serde::Serialize;

/// How an agent runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// A command template run as a child process.
    Exec {
        /// The command template.
        command: Text,
        /// Prompt on stdin rather than as an argument.
        stdin: bool,
        /// Working directory.
        cwd: Option<Text>,
        /// Time limit.
        timeout: Option<Quantity>,
        /// What its standard output is: `text` (when not given), or the JSON of a
        /// coding-agent CLI (`claude`, `codex`, `gemini`), read for its final message,
        /// errors, tokens and cost.
        output: Option<Name>,
    },
    /// A rhai script: inline code or the name of a function.
    Script {
        /// Inline code.
        code: Option<Script>,
        /// A function name.
        function: Option<Name>,
    },
    /// A deterministic simulated agent.
    Sim {
        /// How long a task takes.
        duration: Option<Quantity>,
        /// Failure rate.
        fail: Option<Quantity>,
        /// Random seed.
        seed: Option<Count>,
    },
    /// Real git in the workspace's repository: a branch per story with its changes
    /// committed (`create_pr`), and merging them (`merge_to_main`).
    Git {
        /// The command template run after a story's branch is committed (push, open a PR):
        /// `{branch}`, `{base}`, `{story}` and `{title}` are replaced (shell-quoted).
        pr: Option<Text>,
        /// The branch stories start from and merge into (the checked-out branch when
        /// absent).
        base: Option<Text>,
    },
}

/// `name value` inside a limits block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitEntry {
    /// `cpu`, `memory`, `disk`, `max_concurrent_agents`, ...
    pub name: Name,
    /// The limit.
    pub value: Quantity,
}

/// An agent definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    /// Its name.
    pub name: Name,
    /// Where `override` is written: this changes an agent defined elsewhere.
    pub overrides: Option<Span>,
    /// Its role.
    pub role: Option<Text>,
    /// Its persona / system prompt.
    pub prompt: Option<Text>,
    /// The modes it works in.
    pub modes: Vec<Name>,
    /// The model it asks its CLI for (`{model}` in an exec template).
    pub model: Option<Text>,
    /// How it runs.
    pub backend: Option<Backend>,
    /// Its own resource limits (override `limits { per_agent }`).
    pub limits: Vec<LimitEntry>,
    /// Tools / permissions it has.
    pub tools: Vec<Name>,
    /// The whole item.
    pub span: Span,
}
