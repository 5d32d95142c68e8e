//! Steps: the small core that phases, healing procedures, incident workflows, emergency
//! protocols and maintenance jobs all lower to, and the one scheduler runs.

use crate::model::literal::Value;
use crate::probe::HttpMethod;
use crate::source::Span;
use compact_str::CompactString;
use serde::Serialize;

/// Attempts of a `retry` whose `max` is not written (and rounds of a heal without
/// `attempts`, which runs as a retry over its fixes).
pub const DEFAULT_RETRIES: u64 = 3;

/// A name as written, with its place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Name {
    /// The identifier (or a story id / path for string-named things). Names and texts are
    /// short: stored inline, they cost no allocation and compare without a pointer chase.
    pub name: CompactString,
    /// Where it was written.
    pub span: Span,
}

/// A value as written, with its place: the literals of the language (texts, quantities,
/// counts) are each one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written (a text's quotes included).
    pub span: Span,
}

/// A text literal (unescaped) with its place.
pub type Text = Spanned<CompactString>;

/// A typed literal with its place; `value` is `None` when the literal was malformed
/// (a diagnostic was reported already).
pub type Quantity = Spanned<Option<Value>>;

/// A whole number with its place (`max 3`, `attempts 2`).
pub type Count = Spanned<u64>;

impl Quantity {
    /// The value as a duration, when it is one.
    pub fn duration(&self) -> Option<std::time::Duration> {
        match self.value {
            Some(Value::Duration(ms)) => Some(std::time::Duration::from_millis(ms)),
            _ => None,
        }
    }
}

/// rhai source code embedded in a .bmad file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Script {
    /// The code between the backticks.
    pub code: String,
    /// The place of the code itself (inside the backticks).
    pub span: Span,
}

/// A condition: rhai code, or a dotted name (`approved`, `story.type`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cond {
    /// rhai code.
    Script(Script),
    /// A dotted name.
    Path(Name),
}

/// A comparison operator of a threshold or KPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Cmp {
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl Cmp {
    /// Parses an operator token.
    pub fn parse(op: &str) -> Cmp {
        match op {
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            "==" => Cmp::Eq,
            _ => Cmp::Ne,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }

    /// Whether `value OP target` holds.
    // `==` and `!=` in a workflow compare the numbers exactly, as written.
    #[allow(clippy::float_cmp)]
    pub fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Cmp::Gt => value > target,
            Cmp::Ge => value >= target,
            Cmp::Lt => value < target,
            Cmp::Le => value <= target,
            Cmp::Eq => value == target,
            Cmp::Ne => value != target,
        }
    }
}

/// An artifact a step reads or writes: a declared name or a literal path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArtifactRef {
    /// A name declared by `artifact` or by `produces name = "path"`.
    Named(Name),
    /// A literal path.
    Path(Text),
}

/// `produces name = "path"`, `produces "path"` or `produces name`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Produced {
    /// The name the artifact gets, if any.
    pub name: Option<Name>,
    /// The path, if written here.
    pub path: Option<Text>,
    /// The whole declaration.
    pub span: Span,
}

/// An agent doing named tasks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// The agent, an agent variable from `assign`, or a group (`responders`, `all_available`).
    pub agent: Name,
    /// The task names, in order.
    pub tasks: Vec<Name>,
    /// The agent mode (`mode creative`).
    pub mode: Option<Name>,
    /// Artifacts read.
    pub needs: Vec<ArtifactRef>,
    /// Artifacts written.
    pub produces: Vec<Produced>,
    /// Context loaded for the agent (artifacts, `story`, `dependencies`).
    pub context: Vec<Name>,
    /// Test types (`unit`, `integration`, `e2e`) for a validation task.
    pub tests: Vec<Name>,
    /// An extra prompt.
    pub prompt: Option<Text>,
    /// Time limit.
    pub timeout: Option<Quantity>,
    /// Written `verdict`: the task approves or rejects (see [`Task::is_verdict`]).
    pub verdict: bool,
}

/// Task names that make a task a verdict without `verdict` or `tests`.
pub const VERDICT_TASKS: &[&str] = &["validate", "review", "approve"];

impl Task {
    /// Whether the task gives a verdict (it sets `approved` and QA's feedback rather than
    /// fail its step): it says `verdict`, names test types (`tests`), or one of its tasks is
    /// `validate`, `review` or `approve`.
    pub fn is_verdict(&self) -> bool {
        self.verdict
            || !self.tests.is_empty()
            || self
                .tasks
                .iter()
                .any(|t| VERDICT_TASKS.contains(&t.name.as_str()))
    }
}

/// `approve NAME ["prompt"] [by a, b]`: a person's verdict, given with `bmad approve`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approve {
    /// What is approved (`--approve NAME` approves it in advance).
    pub name: Name,
    /// What the person is asked.
    pub prompt: Option<Text>,
    /// Who may answer (anyone when empty).
    pub by: Vec<Name>,
}

/// `handoff a -> b { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handoff {
    /// The agent handing off.
    pub from: Name,
    /// The agent receiving.
    pub to: Name,
    /// Artifacts handed over.
    pub artifacts: Vec<ArtifactRef>,
    /// Tasks done.
    pub completed: Vec<Name>,
    /// Tasks left.
    pub pending: Vec<Name>,
    /// Free notes.
    pub notes: Option<Text>,
}

/// How a probe reaches its target: an HTTP request or a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeMethod {
    /// `get`.
    Get,
    /// `post`.
    Post,
    /// `head`.
    Head,
    /// `put`.
    Put,
    /// `tcp`: a connection to host:port.
    Tcp,
}

impl ProbeMethod {
    /// The method as written: `get`, `post`, `head`, `put` or `tcp`.
    pub fn word(self) -> &'static str {
        match self.http() {
            Some(m) => m.word(),
            None => "tcp",
        }
    }

    /// The HTTP method; `None` for `tcp`.
    pub fn http(self) -> Option<HttpMethod> {
        match self {
            ProbeMethod::Get => Some(HttpMethod::Get),
            ProbeMethod::Post => Some(HttpMethod::Post),
            ProbeMethod::Head => Some(HttpMethod::Head),
            ProbeMethod::Put => Some(HttpMethod::Put),
            ProbeMethod::Tcp => None,
        }
    }

    /// The method of a word as written; `None` for any other word.
    pub fn from_word(word: &str) -> Option<ProbeMethod> {
        Some(match word {
            "get" => ProbeMethod::Get,
            "post" => ProbeMethod::Post,
            "head" => ProbeMethod::Head,
            "put" => ProbeMethod::Put,
            "tcp" => ProbeMethod::Tcp,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ProbeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

/// An HTTP or TCP probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// `get`, `post`, `head`, `put` or `tcp`.
    pub method: ProbeMethod,
    /// URL, or host:port for tcp.
    pub target: Text,
    /// Expected HTTP status.
    pub expect: Option<Count>,
    /// Time limit.
    pub timeout: Option<Quantity>,
    /// Interval (monitors only).
    pub every: Option<Quantity>,
    /// `ca_file "path"`: PEM certificates trusted beside the system's roots for an
    /// `https` URL (a private CA); a relative path is taken from the directory of the
    /// file that declares it.
    pub ca_file: Option<Text>,
}

/// What a `call`-like step calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// `call name`: any procedure.
    Call,
    /// `heal name`: a healing procedure.
    Heal,
}

/// One arm of `match`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchArm {
    /// The value matched, `_` for any.
    pub pattern: Name,
    /// What runs.
    pub body: Vec<Step>,
}

/// One arm of `assign`: story type => agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignArm {
    /// The story type.
    pub story_type: Name,
    /// The agent.
    pub agent: Name,
}

/// One step with its place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Where the step was written.
    pub span: Span,
    /// What it does.
    #[serde(flatten)]
    pub kind: StepKind,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepKind {
    /// An agent task (boxed, like the other large variants, to keep every step small:
    /// each check pass walks every step).
    Task(Box<Task>),
    /// A handoff between agents.
    Handoff(Box<Handoff>),
    /// A shell command.
    Sh {
        /// The command text.
        command: Text,
        /// Time limit.
        timeout: Option<Quantity>,
    },
    /// Wait for a duration.
    Wait {
        /// How long.
        duration: Quantity,
    },
    /// An HTTP or TCP probe.
    Probe(Box<Probe>),
    /// Run named checks or inline rhai; `must_pass` false only records (diagnosis).
    Check {
        /// Named checks.
        checks: Vec<Name>,
        /// Inline rhai.
        script: Option<Script>,
        /// Whether a failing check fails the step.
        must_pass: bool,
    },
    /// Call a named procedure.
    Call {
        /// The procedure.
        target: Name,
        /// How it was written.
        kind: CallKind,
    },
    /// Open an incident at a level.
    Escalate {
        /// The incident level.
        level: Name,
    },
    /// Send an alert.
    Alert {
        /// Who gets it.
        to: Option<Name>,
        /// What it says.
        message: Text,
    },
    /// Notify agents or groups.
    Notify {
        /// Who.
        to: Vec<Name>,
        /// What.
        message: Option<Text>,
    },
    /// Deploy to an environment (its gate runs first).
    Deploy {
        /// The environment.
        environment: Name,
        /// The agent deploying.
        by: Option<Name>,
    },
    /// Roll an environment back to its last good deployment.
    Rollback {
        /// The environment.
        environment: Name,
    },
    /// Bind an agent variable by story type.
    Assign {
        /// The variable.
        var: Name,
        /// The dotted name matched (`story.type`).
        by: Name,
        /// Type => agent.
        arms: Vec<AssignArm>,
    },
    /// Isolate systems: pauses the affected workflows and monitors.
    Isolate {
        /// What is isolated.
        target: Name,
    },
    /// Stop writes to systems: pauses the affected workflows and monitors.
    StopWrites {
        /// What stops writing.
        target: Name,
    },
    /// Write a status report.
    Report {
        /// Its text.
        message: Option<Text>,
    },
    /// Start a monitor.
    Watch {
        /// The monitor.
        monitor: Name,
    },
    /// Wait for a person's approval: a verdict.
    Approve(Box<Approve>),
    /// Run branches side by side.
    Parallel {
        /// Most branches at once.
        max: Option<Count>,
        /// One step per branch.
        branches: Vec<Step>,
    },
    /// Run the body once per story, in dependency order, independent ones side by side.
    ForEach {
        /// The loop variable.
        var: Name,
        /// What is iterated (`stories`).
        source: Name,
        /// Most iterations at once.
        max: Option<Count>,
        /// The body.
        body: Vec<Step>,
    },
    /// Run the body until the condition holds, at most `max` times.
    Repeat {
        /// The bound.
        max: Option<Count>,
        /// The body.
        body: Vec<Step>,
        /// The exit condition.
        until: Option<Cond>,
    },
    /// Run the body again when it fails, at most `max` times.
    Retry {
        /// The bound (3 when not written).
        max: Option<Count>,
        /// Pause between attempts.
        backoff: Option<Quantity>,
        /// The body.
        body: Vec<Step>,
    },
    /// Branch on a condition.
    If {
        /// The condition.
        cond: Cond,
        /// When it holds.
        then: Vec<Step>,
        /// When it does not.
        otherwise: Vec<Step>,
    },
    /// Branch on a value.
    Match {
        /// The value.
        subject: Cond,
        /// The arms, in order.
        arms: Vec<MatchArm>,
    },
    /// Run `handler` when `body` fails.
    OnFailure {
        /// The guarded steps.
        body: Vec<Step>,
        /// What runs on failure.
        handler: Vec<Step>,
    },
    /// A labelled part of a lowered construct (`diagnose`, `fix restart`, `triage`).
    Group {
        /// The label.
        label: String,
        /// The steps.
        body: Vec<Step>,
    },
    /// Fail on purpose (the end of a chain of fixes none of which verified).
    Fail {
        /// Why.
        reason: String,
    },
}

impl StepKind {
    /// The step's name, as in the IR's `step` field.
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Task(_) => "task",
            StepKind::Handoff(_) => "handoff",
            StepKind::Sh { .. } => "sh",
            StepKind::Wait { .. } => "wait",
            StepKind::Probe(_) => "probe",
            StepKind::Check { .. } => "check",
            StepKind::Call { .. } => "call",
            StepKind::Escalate { .. } => "escalate",
            StepKind::Alert { .. } => "alert",
            StepKind::Notify { .. } => "notify",
            StepKind::Deploy { .. } => "deploy",
            StepKind::Rollback { .. } => "rollback",
            StepKind::Assign { .. } => "assign",
            StepKind::Isolate { .. } => "isolate",
            StepKind::StopWrites { .. } => "stop_writes",
            StepKind::Report { .. } => "report",
            StepKind::Watch { .. } => "watch",
            StepKind::Approve(_) => "approve",
            StepKind::Parallel { .. } => "parallel",
            StepKind::ForEach { .. } => "for_each",
            StepKind::Repeat { .. } => "repeat",
            StepKind::Retry { .. } => "retry",
            StepKind::If { .. } => "if",
            StepKind::Match { .. } => "match",
            StepKind::OnFailure { .. } => "on_failure",
            StepKind::Group { .. } => "group",
            StepKind::Fail { .. } => "fail",
        }
    }
}

impl Step {
    /// Calls `f` on each nested step list of this step, in order (no allocation: every
    /// check pass walks every step).
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a [Step])) {
        match &self.kind {
            StepKind::Parallel { branches, .. } => f(branches),
            StepKind::ForEach { body, .. }
            | StepKind::Repeat { body, .. }
            | StepKind::Retry { body, .. }
            | StepKind::Group { body, .. } => f(body),
            StepKind::If {
                then, otherwise, ..
            } => {
                f(then);
                f(otherwise);
            }
            StepKind::Match { arms, .. } => arms.iter().for_each(|a| f(&a.body)),
            StepKind::OnFailure { body, handler } => {
                f(body);
                f(handler);
            }
            _ => {}
        }
    }
}

/// Whether a verdict step ([`Task::is_verdict`]) is among `steps` or what they nest.
pub fn holds_verdict(steps: &[Step]) -> bool {
    let mut found = false;
    walk(steps, &mut |s| {
        found |= matches!(&s.kind, StepKind::Task(t) if t.is_verdict())
            || matches!(&s.kind, StepKind::Approve(_));
    });
    found
}

/// Calls `f` on every step of `steps`, depth first, parents before children.
pub fn walk<'a>(steps: &'a [Step], f: &mut impl FnMut(&'a Step)) {
    for step in steps {
        f(step);
        step.for_each_child(|child| walk(child, f));
    }
}

#[cfg(test)]
mod tests {
    /// Every check pass walks every step: a step that grows streams more memory per walk
    /// (BENCHMARKS.md). Box a large new variant rather than raise this bound.
    #[test]
    fn steps_stay_small() {
        assert!(std::mem::size_of::<super::Step>() <= 160);
    }
}
