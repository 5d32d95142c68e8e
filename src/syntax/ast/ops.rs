//! The operations items that are lowered: heals and their fixes, maintenance jobs, the
//! incident stages and emergencies.

use crate::model::Level;
use crate::model::step::{Count, Name, Step, Text};
use crate::source::Span;
use serde::Serialize;

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
