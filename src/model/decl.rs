//! The declarations that need no lowering, as written: the workflow, artifacts, phases,
//! epics, environments and their variables, checks, limits, notifications, sync, the
//! handoff protocol, KPIs and settings.

use super::agent::LimitEntry;
use crate::model::step::{Cmp, Count, Name, Quantity, Script, Step, Text};
use crate::source::Span;
use serde::Serialize;

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

/// `notifications { to CHANNEL  on EVENTS }`: who hears of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notifications {
    /// Channels: `stdout`, a file of the workspace (JSON lines) or a webhook URL.
    pub to: Vec<Text>,
    /// The run's events they hear of (every one when empty): see
    /// [`crate::ir::vocab::NOTIFY_EVENTS`].
    pub on: Vec<Name>,
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
