//! What happens during a run, in order, with the (virtual or real) time it happened at.

use serde::Serialize;

/// A function called with every event of a run, as it happens.
pub type Listener = Box<dyn Fn(&Event)>;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A phase began.
    PhaseStarted {
        /// The phase.
        phase: String,
    },
    /// A phase ended.
    PhaseFinished {
        /// The phase.
        phase: String,
        /// Whether it succeeded.
        ok: bool,
    },
    /// An agent started a task.
    TaskStarted {
        /// The agent.
        agent: String,
        /// The tasks.
        tasks: Vec<String>,
        /// The story, inside a for-each.
        story: Option<String>,
        /// The attempt, inside a loop (from 1).
        attempt: u64,
    },
    /// An agent finished a task.
    TaskFinished {
        /// The agent.
        agent: String,
        /// The tasks.
        tasks: Vec<String>,
        /// The story, inside a for-each.
        story: Option<String>,
        /// Whether it succeeded (for a validation: whether it approved).
        ok: bool,
        /// QA feedback or the failure's reason.
        feedback: Option<String>,
    },
    /// A handoff message.
    Handoff {
        /// From.
        from: String,
        /// To.
        to: String,
        /// Artifacts handed over.
        artifacts: Vec<String>,
        /// Tasks done.
        completed: Vec<String>,
        /// Tasks left.
        pending: Vec<String>,
        /// Notes.
        notes: Option<String>,
    },
    /// A story could not be finished and was escalated as blocked.
    StoryBlocked {
        /// The story.
        story: String,
        /// Why.
        reason: String,
    },
    /// A story is done.
    StoryDone {
        /// The story.
        story: String,
    },
    /// Anything else a step did: an alert, a deployment, an incident opened, ...
    Note {
        /// What kind of step.
        step: String,
        /// What it said.
        text: String,
    },
}
