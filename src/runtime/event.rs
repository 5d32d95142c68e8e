//! What happens during a run, in order, with the (virtual or real) time it happened at.

use serde::{Deserialize, Serialize};

/// A function called with every event of a run, as it happens.
pub type Listener = Box<dyn Fn(&Event)>;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// An artifact handed over: its path as written in the workflow and its content's sha256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandedOver {
    /// The path.
    pub path: String,
    /// The sha256 of its content (of its entries' names and contents, for a directory).
    pub sha256: String,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The run started (segment 1) or a resume continued it (segment 2, 3, ...).
    RunStarted {
        /// How many times the run has been started, this one included.
        segment: u32,
    },
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
        /// Whether it is a QA validation (the story is in review).
        validation: bool,
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
        /// Artifacts handed over, with the sha256 of their content.
        artifacts: Vec<HandedOver>,
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

impl EventKind {
    /// The event's name, as in its JSON `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "run_started",
            EventKind::PhaseStarted { .. } => "phase_started",
            EventKind::PhaseFinished { .. } => "phase_finished",
            EventKind::TaskStarted { .. } => "task_started",
            EventKind::TaskFinished { .. } => "task_finished",
            EventKind::Handoff { .. } => "handoff",
            EventKind::StoryBlocked { .. } => "story_blocked",
            EventKind::StoryDone { .. } => "story_done",
            EventKind::Note { .. } => "note",
        }
    }

    /// One line saying what happened.
    pub fn text(&self) -> String {
        let story = |s: &Option<String>| s.as_ref().map_or(String::new(), |s| format!(" [{s}]"));
        match self {
            EventKind::RunStarted { segment: 1 } => "run started".into(),
            EventKind::RunStarted { segment } => format!("run resumed (start {segment})"),
            EventKind::PhaseStarted { phase } => format!("phase {phase}"),
            EventKind::PhaseFinished { phase, ok } => {
                format!("phase {phase} {}", if *ok { "done" } else { "failed" })
            }
            EventKind::TaskStarted {
                agent,
                tasks,
                story: s,
                attempt,
                ..
            } => format!(
                "{agent}: {}{}{}",
                tasks.join(", "),
                story(s),
                if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                }
            ),
            EventKind::TaskFinished {
                agent,
                tasks,
                story: s,
                ok,
                feedback,
            } => format!(
                "{agent}: {}{} {}{}",
                tasks.join(", "),
                story(s),
                if *ok { "ok" } else { "failed" },
                feedback
                    .as_ref()
                    .map_or(String::new(), |f| format!(": {f}"))
            ),
            EventKind::Handoff {
                from,
                to,
                artifacts,
                ..
            } => format!(
                "{from} -> {to} ({})",
                artifacts
                    .iter()
                    .map(|a| a.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            EventKind::StoryBlocked { story, reason } => format!("story {story} blocked: {reason}"),
            EventKind::StoryDone { story } => format!("story {story} done"),
            EventKind::Note { step, text } => format!("{step}: {text}"),
        }
    }
}
