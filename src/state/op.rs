//! What a run sends the store's writer thread: one record to write, or a question for it.

use std::sync::mpsc::Sender;

/// One thing to write.
#[derive(Debug)]
pub enum Op {
    /// An event of the log, with the artifact hashes it brings.
    Event {
        /// Its place in the log.
        seq: u64,
        /// Its line of the log, its board move in it ([`super::push_line_head`]).
        line: String,
        /// Artifacts handed over: path and sha256.
        artifacts: Vec<(String, String)>,
    },
    /// Stories that join the board's backlog, with their numbers there.
    StoriesKnown(Vec<(u64, String)>),
    /// A step started: the number of this start, and the step's key.
    StepStarted(u64, String),
    /// A step ended.
    StepFinished {
        /// The number of the start it ends.
        n: u64,
        /// How it ended.
        end: super::StepEnd,
    },
    /// An artifact a step wrote: path and sha256.
    Artifact(String, String, u64),
    /// A shared state write.
    State {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Who wrote it.
        writer: String,
        /// Where in the log.
        seq: u64,
        /// Keep the overwritten value.
        audit: bool,
    },
    /// A checkpoint.
    Checkpoint {
        /// Where in the log.
        seq: u64,
        /// The sync point.
        reason: String,
        /// The snapshot.
        snapshot: String,
        /// Force it to disk.
        durable: bool,
    },
    /// Whether `bmad sync` asked for a checkpoint (the answer goes back).
    SyncRequested(Sender<bool>),
    /// Ask a person for an approval (committed at once, for `bmad approve` to see).
    AskApproval {
        /// What is approved.
        target: String,
        /// The attempt it is asked for.
        attempt: u64,
        /// What the person is asked.
        prompt: Option<String>,
        /// Who may answer, comma-separated.
        who: Option<String>,
        /// Told when it is on disk.
        done: Sender<()>,
    },
    /// The approval of a target as the store has it now (the answer goes back).
    Approval(String, Sender<Option<super::Approval>>),
    /// Records handed over together (a simulation's batch), written in order.
    Batch(Vec<Op>),
    /// Commit what was sent before, then answer.
    Flush(Sender<()>),
    /// What a task's agent printed.
    Transcript(Box<super::TranscriptRow>),
    /// The run ended: record it, commit durably, answer, stop.
    Finish {
        /// Succeeded, failed or interrupted.
        status: super::RunStatus,
        /// Why.
        reason: Option<String>,
        /// Told when done.
        done: Sender<()>,
    },
}
