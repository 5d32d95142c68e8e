//! The typed syntax tree of one .bmad file: top-level items as written, with byte spans.
//! Steps inside blocks are already the core step nodes of the IR ([`crate::ir::step`]);
//! the items here keep their sugar until [`crate::ir::lower`] turns them into the IR.

use crate::ir::step::{Cmp, Count, Name, Quantity, Script, Step, Text};
use crate::source::Span;
use serde::Serialize;

/// One top-level item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum Item {
    /// `import ...`
    Import(Import),
    /// `workflow name { ... }`
    Workflow(Workflow),
    /// `agent name { ... }`
    Agent(Box<Agent>),
    /// `artifact name = "path"`
    Artifact(ArtifactDecl),
    /// `phase name ... { ... }`
    Phase(Phase),
    /// `epic "id" "title"`
    Epic(Epic),
    /// `story "id" type { ... }`
    Story(Box<Story>),
    /// `stories from "glob"`
    StoriesFrom(StoriesFrom),
    /// `environment name { ... }`
    Environment(Box<Environment>),
    /// `env NAME = "default" secret`
    EnvVar(EnvVar),
    /// `check name = ...`
    Check(CheckDef),
    /// `heal name { ... }`
    Heal(Box<Heal>),
    /// `procedure name { ... }`
    Procedure(Procedure),
    /// `maintenance name cron "..." ... { ... }`
    Maintenance(Box<Maintenance>),
    /// `incidents { ... }`
    Incidents(Incidents),
    /// `emergency name { ... }`
    Emergency(Emergency),
    /// `monitor name { ... }`
    Monitor(Box<Monitor>),
    /// `limits { ... }`
    Limits(Limits),
    /// `sync { ... }`
    Sync(Box<Sync>),
    /// `handoffs { ... }`
    Handoffs(HandoffProtocol),
    /// `kpi name: metric >= target`
    Kpi(Kpi),
    /// `settings { ... }`
    Settings(Settings),
}

/// What an import names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "target", rename_all = "snake_case")]
pub enum ImportTarget {
    /// A path relative to the importing file.
    File(String),
    /// A stdlib module such as `std.roles`.
    Module(String),
}

/// `import "file.bmad"` or `import std.roles`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Import {
    /// What is imported.
    pub target: ImportTarget,
    /// The place of the target.
    pub span: Span,
}

/// The workflow's entry: its name and first phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workflow {
    /// The workflow's name.
    pub name: Name,
    /// The phase it starts with.
    pub start: Option<Name>,
    /// What it is.
    pub description: Option<Text>,
    /// The whole item.
    pub span: Span,
}

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

/// `artifact name = "path" [provided]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactDecl {
    /// Its name.
    pub name: Name,
    /// Its path under the workspace.
    pub path: Text,
    /// Provided from outside (the user's input) rather than produced by a step.
    pub provided: bool,
    /// The whole item.
    pub span: Span,
}

/// A phase of the product workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// Its name.
    pub name: Name,
    /// Phases it follows.
    pub after: Vec<Name>,
    /// Most agents at once in this phase.
    pub max: Option<Count>,
    /// What it does.
    pub body: Vec<Step>,
    /// The whole item.
    pub span: Span,
}

/// `epic "id" "title"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Epic {
    /// Its id.
    pub id: Name,
    /// Its title.
    pub title: Option<Text>,
    /// The whole item.
    pub span: Span,
}

/// A file a story changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileChange {
    /// The file.
    pub path: Text,
    /// What changes.
    pub changes: Option<Text>,
}

/// A file a story creates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewFile {
    /// The file.
    pub path: Text,
    /// The template it starts from.
    pub template: Option<Text>,
}

/// A story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// Its id, like `3.6.16`.
    pub id: Name,
    /// frontend, backend, infrastructure, ...
    pub story_type: Name,
    /// Its epic.
    pub epic: Option<Name>,
    /// Its title.
    pub title: Option<Text>,
    /// Context from the PRD.
    pub from_prd: Option<Text>,
    /// Context from the architecture.
    pub from_arch: Option<Text>,
    /// Stories it depends on.
    pub after: Vec<Name>,
    /// Files to modify.
    pub modify: Vec<FileChange>,
    /// Files to create.
    pub create: Vec<NewFile>,
    /// Acceptance criteria.
    pub accept: Vec<Text>,
    /// The whole item.
    pub span: Span,
}

/// `stories from "glob"`: story files loaded at run time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoriesFrom {
    /// A path or glob under the workspace.
    pub pattern: Text,
    /// The whole item.
    pub span: Span,
}

/// What must hold before deploying to an environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Gate {
    /// A person approves.
    Manual {
        /// Where `manual` is written.
        span: Span,
    },
    /// A rhai condition.
    Script(Script),
    /// Named checks.
    Checks {
        /// The checks.
        checks: Vec<Name>,
    },
}

/// A deployment environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environment {
    /// Its name.
    pub name: Name,
    /// The environment deployed before it.
    pub after: Option<Name>,
    /// Its base URL.
    pub url: Option<Text>,
    /// Its gate.
    pub gate: Option<Gate>,
    /// The whole item.
    pub span: Span,
}

/// An environment variable the workflow declares (the only ones scripts may read).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvVar {
    /// Its name.
    pub name: Name,
    /// Value when unset.
    pub default: Option<Text>,
    /// Never printed.
    pub secret: bool,
    /// The whole item.
    pub span: Span,
}

/// The body of a named check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckBody {
    /// rhai returning true when the check passes.
    Script(Script),
    /// Steps that all succeed when the check passes.
    Steps {
        /// The steps.
        steps: Vec<Step>,
    },
}

/// `check name = ...`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckDef {
    /// Its name.
    pub name: Name,
    /// What it runs.
    pub body: CheckBody,
    /// The whole item.
    pub span: Span,
}

/// One fix of a healing procedure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    /// Its name.
    pub name: Name,
    /// What it does.
    pub body: Vec<Step>,
}

/// A self-healing procedure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heal {
    /// Its name.
    pub name: Name,
    /// The agent that runs it.
    pub agent: Option<Name>,
    /// How many rounds of fixes at most.
    pub attempts: Option<Count>,
    /// Diagnosis checks, run and recorded.
    pub diagnose: Vec<Name>,
    /// Fixes, tried in order.
    pub fixes: Vec<Fix>,
    /// Verification checks run after each fix.
    pub verify: Vec<Name>,
    /// What happens when no fix verifies.
    pub otherwise: Option<Step>,
    /// The whole item.
    pub span: Span,
}

/// A named procedure (a scale action, the critical failure flow, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Procedure {
    /// Its name.
    pub name: Name,
    /// What it does.
    pub body: Vec<Step>,
    /// The whole item.
    pub span: Span,
}

/// A scheduled maintenance job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maintenance {
    /// Its name.
    pub name: Name,
    /// When it runs.
    pub cron: Option<Text>,
    /// updates, cleanup or backup.
    pub kind: Option<Name>,
    /// skip or queue when a run is still going.
    pub overlap: Option<Name>,
    /// The agent responsible.
    pub agent: Option<Name>,
    /// What it does.
    pub body: Vec<Step>,
    /// The whole item.
    pub span: Span,
}

/// How soon a level must be answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Respond {
    /// At once.
    Immediate {
        /// Where `immediate` is written.
        span: Span,
    },
    /// Within a duration.
    Within(Quantity),
}

/// An incident level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    /// Its name.
    pub name: Name,
    /// The agents that respond.
    pub agents: Vec<Name>,
    /// How soon.
    pub respond: Option<Respond>,
    /// The whole level.
    pub span: Span,
}

/// A stage of the incident workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// detection, triage, resolution or postmortem.
    pub name: Name,
    /// What it does.
    pub body: Vec<Step>,
}

/// `incidents { ... }`: levels and the response workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incidents {
    /// The levels, lowest first.
    pub levels: Vec<Level>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// The whole item.
    pub span: Span,
}

/// An emergency protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Emergency {
    /// Its name.
    pub name: Name,
    /// Immediate actions, in order.
    pub immediate: Vec<Step>,
    /// Recovery steps, in order.
    pub recovery: Vec<Step>,
    /// The response team.
    pub team: Vec<Name>,
    /// The whole item.
    pub span: Span,
}

/// How a health check probes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HealthProbe {
    /// HTTP or TCP.
    Probe(crate::ir::step::Probe),
    /// A command; exit code and a number on stdout.
    Sh {
        /// The command.
        command: Text,
    },
    /// A named check.
    Check {
        /// The check.
        check: Name,
    },
}

/// A monitor health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// Its name (metrics refer to it with `of`).
    pub name: Name,
    /// How it probes.
    pub probe: HealthProbe,
    /// Expected HTTP status.
    pub expect: Option<Count>,
    /// Time limit.
    pub timeout: Option<Quantity>,
    /// Interval.
    pub every: Option<Quantity>,
    /// What to do when it fails.
    pub actions: Option<Actions>,
    /// The whole entry.
    pub span: Span,
}

/// healthy, warning or critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// All is well.
    Healthy,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

impl Status {
    /// The status's word: `healthy`, `warning`, `critical`.
    pub fn word(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Warning => "warning",
            Status::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

impl std::fmt::Display for ActionKind {
    /// The action as written (`heal webrtc_connection_failure`, `alert ops "ops.log"`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionKind::Alert { to, channel } => {
                f.write_str("alert")?;
                if let Some(t) = to {
                    write!(f, " {}", t.name)?;
                }
                if let Some(c) = channel {
                    write!(f, " \"{}\"", c.value)?;
                }
                Ok(())
            }
            ActionKind::Scale { target } => write!(f, "scale {}", target.name),
            ActionKind::Heal { target } => write!(f, "heal {}", target.name),
            ActionKind::Escalate { level } => write!(f, "escalate {}", level.name),
            ActionKind::Call { target } => write!(f, "call {}", target.name),
            ActionKind::Emergency { target } => write!(f, "emergency {}", target.name),
        }
    }
}

/// A rule's action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionKind {
    /// Alert an agent or a channel.
    Alert {
        /// The agent.
        to: Option<Name>,
        /// A channel (file path or webhook URL).
        channel: Option<Text>,
    },
    /// Run a declared scale procedure.
    Scale {
        /// The procedure.
        target: Name,
    },
    /// Run a healing procedure.
    Heal {
        /// The procedure.
        target: Name,
    },
    /// Open an incident at a level.
    Escalate {
        /// The level.
        level: Name,
    },
    /// Run a procedure.
    Call {
        /// The procedure.
        target: Name,
    },
    /// Start an emergency protocol.
    Emergency {
        /// The protocol.
        target: Name,
    },
}

/// One action with its place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// What.
    #[serde(flatten)]
    pub kind: ActionKind,
    /// Where.
    pub span: Span,
}

/// `=> action, action cooldown 10m`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actions {
    /// The actions, in order.
    pub list: Vec<Action>,
    /// The flapping guard.
    pub cooldown: Option<Quantity>,
}

/// `metric name [of health] > threshold [level] => actions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRule {
    /// The metric.
    pub metric: Name,
    /// The health check it is read from.
    pub of: Option<Name>,
    /// The comparison.
    pub op: Cmp,
    /// The threshold.
    pub threshold: Quantity,
    /// How bad a breach is (default from the actions).
    pub level: Option<Status>,
    /// What to do.
    pub actions: Actions,
    /// The whole rule.
    pub span: Span,
}

/// `pattern "text" severity level => actions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternRule {
    /// The log pattern (a regex).
    pub pattern: Text,
    /// Its severity: an incident level.
    pub severity: Option<Name>,
    /// What to do.
    pub actions: Actions,
    /// The whole rule.
    pub span: Span,
}

/// `on warning => actions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusRule {
    /// The status.
    pub status: Status,
    /// What to do.
    pub actions: Actions,
    /// The whole rule.
    pub span: Span,
}

/// A monitor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monitor {
    /// Its name.
    pub name: Name,
    /// The monitor agent.
    pub agent: Option<Name>,
    /// Default interval.
    pub every: Option<Quantity>,
    /// Log files watched for patterns.
    pub logs: Vec<Text>,
    /// Health checks.
    pub health: Vec<Health>,
    /// Metric thresholds.
    pub metrics: Vec<MetricRule>,
    /// Log patterns.
    pub patterns: Vec<PatternRule>,
    /// Status routing.
    pub on_status: Vec<StatusRule>,
    /// The whole item.
    pub span: Span,
}

/// `limits { per_agent { ... } global { ... } }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limits {
    /// Limits of every agent.
    pub per_agent: Vec<LimitEntry>,
    /// Limits of the whole run.
    pub global: Vec<LimitEntry>,
    /// The whole item.
    pub span: Span,
}

/// State synchronisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sync {
    /// Checkpoint frequency.
    pub every: Option<Quantity>,
    /// `eventual_consistency`, ...
    pub strategy: Option<Name>,
    /// Sync points.
    pub at: Vec<Name>,
    /// Conflict resolution strategy.
    pub conflict: Option<Name>,
    /// Keep overwritten values.
    pub audit: bool,
    /// Who is told of a conflict.
    pub notify: Option<Name>,
    /// The whole item.
    pub span: Span,
}

/// What happens around every handoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoffProtocol {
    /// Before: `save_state`, `create_summary`, `update_context`.
    pub before: Vec<Name>,
    /// After: `verify_receipt`, `confirm_understanding`, `start_tracking`.
    pub after: Vec<Name>,
    /// The whole item.
    pub span: Span,
}

/// A KPI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    /// Its name.
    pub name: Name,
    /// The metric measured.
    pub metric: Name,
    /// The comparison.
    pub op: Cmp,
    /// The target.
    pub target: Quantity,
    /// The whole item.
    pub span: Span,
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SettingValue {
    /// A typed literal.
    Quantity(Quantity),
    /// A string.
    Text(Text),
    /// Names.
    Names(Vec<Name>),
}

/// One setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// Its name.
    pub name: Name,
    /// Its value.
    pub value: SettingValue,
}

/// `settings { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// The settings.
    pub entries: Vec<Setting>,
    /// The whole item.
    pub span: Span,
}
