//! Monitors as written (health checks, metric, pattern and status rules, actions) and
//! the incident levels they escalate to.

use crate::model::step::{Cmp, Count, Name, Quantity, Text};
use crate::source::Span;
use serde::{Deserialize, Serialize};

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

/// How a health check probes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HealthProbe {
    /// HTTP or TCP.
    Probe(crate::model::step::Probe),
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
    /// `ca_file "path"`: PEM certificates trusted beside the system's roots (https only).
    pub ca_file: Option<Text>,
    /// What to do when it fails.
    pub actions: Option<Actions>,
    /// The whole entry.
    pub span: Span,
}

/// healthy, warning or critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
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
