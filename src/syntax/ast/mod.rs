//! The typed syntax tree of one .bmad file: top-level items as written, with byte spans.
//! Steps and the declarations that need no lowering are the language's nodes
//! ([`crate::model`], re-exported here); the items defined here keep their sugar until
//! [`crate::ir::lower`] turns them into the IR.

use crate::model::step::{Name, Step};
use crate::source::Span;
use serde::Serialize;

mod ops;

pub use crate::model::{agent::*, decl::*, monitor::*, story::*};
pub use ops::*;

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
    /// `budget { ... }`
    Budget(crate::model::budget::Budget),
    /// `notifications { ... }`
    Notifications(Notifications),
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

/// `settings { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// The settings.
    pub entries: Vec<Setting>,
    /// The whole item.
    pub span: Span,
}
