//! The run's journal in the state store: every event, the steps that started and ended
//! (a resume does not run an ended step again), the story board, artifact hashes, shared
//! state writes with their audit trail, and checkpoints. The records go to the store's
//! writer thread ([`crate::state::writer`]), so the scheduler never waits for the disk;
//! they land in order. The first store error is kept: the run stops at its next task
//! rather than go on without a record.

use super::event::{Event, EventKind};
use crate::state::writer::{Op, Writer};
use crate::state::{EventRow, FinishedStep, StateError, Store, StoryStatus, now_ms};
use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, RefCell};

/// Room for an event's line at first: a task's start or end is some 250 bytes.
const LINE_ROOM: usize = 320;

/// Where a durable run is recorded.
pub(super) struct Journal {
    writer: Writer,
    run: String,
    seq: Cell<u64>,
    /// A real run (checkpoints forced to disk, `bmad sync` served) or a simulation.
    real: bool,
    /// Steps that ended in earlier segments of this run and are replayed, not run.
    replay: HashMap<String, FinishedStep>,
    /// Events of earlier segments not met again yet while the run catches up: their JSON
    /// and how many times.
    earlier: RefCell<HashMap<String, usize>>,
    /// Events since the last checkpoint.
    since_checkpoint: Cell<u64>,
    /// Each story's number on the board and its place there.
    board: RefCell<HashMap<String, (u64, StoryStatus)>>,
    /// The steps started and not ended yet, with the number of their start.
    running: RefCell<HashMap<String, u64>>,
    /// Starts of steps recorded so far (earlier segments too): the next is one more.
    starts: Cell<u64>,
    /// The highest number of a story on the board: the next story to join is one more.
    stories: Cell<u64>,
    /// How many stories stand in each column (in the order of [`StoryStatus::ALL`]), kept
    /// as the board changes: a checkpoint's snapshot without a scan of the board (a run
    /// that blocks many stories takes a checkpoint at each).
    columns: RefCell<[u64; StoryStatus::ALL.len()]>,
}

/// What a resume starts from.
pub(super) struct Earlier {
    /// The events of earlier segments.
    pub events: Vec<Event>,
    /// The steps that ended.
    pub finished: Vec<FinishedStep>,
    /// The last sequence number used.
    pub seq: u64,
}

impl Journal {
    /// A journal for run `run` in `store`, continuing from `earlier` on a resume.
    pub(super) fn new(
        store: Store,
        run: String,
        real: bool,
        earlier: Option<&Earlier>,
    ) -> Result<Journal, StateError> {
        let key = store.run_key(&run)?;
        let (mut seq, mut multiset, mut replay, mut board, mut starts) = (
            0,
            HashMap::default(),
            HashMap::default(),
            HashMap::default(),
            0,
        );
        if let Some(e) = earlier {
            seq = e.seq;
            for ev in &e.events {
                let json = super::event_json::event_json(&ev.kind);
                *multiset.entry(json).or_default() += 1;
            }
            for s in e.finished.iter().filter(|s| s.replayable()) {
                replay.insert(s.key.clone(), s.clone());
            }
            board = store
                .numbered_board(key)?
                .into_iter()
                .map(|(n, b)| (b.story, (n, b.status)))
                .collect();
            starts = store.steps_started(key)?;
        }
        let stories = board.values().map(|(n, _)| *n).max().unwrap_or(0);
        let mut columns = [0; StoryStatus::ALL.len()];
        for (_, status) in board.values() {
            columns[column(*status)] += 1;
        }
        let journal = Journal {
            columns: RefCell::new(columns),
            writer: Writer::start(store, run.clone(), key, real),
            run,
            seq: Cell::new(seq),
            real,
            replay,
            earlier: RefCell::new(multiset),
            since_checkpoint: Cell::new(0),
            board: RefCell::new(board),
            running: RefCell::new(HashMap::default()),
            starts: Cell::new(starts),
            stories: Cell::new(stories),
        };
        Ok(journal)
    }

    /// The run's id.
    pub(super) fn run(&self) -> &str {
        &self.run
    }

    /// How step `key` ended in an earlier segment, when it is not to run again.
    pub(super) fn replayed(&self, key: &str) -> Option<&FinishedStep> {
        self.replay.get(key)
    }

    /// The store's first error, if it failed.
    pub(super) fn failure(&self) -> Option<String> {
        self.writer.error().map(|e| e.to_string())
    }

    /// Records an event; false when it is an event of an earlier segment met again while
    /// the run catches up (it is not recorded twice).
    pub(super) fn event(&self, event: &Event, step: Option<&str>) -> bool {
        // Only a resumed run that has not caught up yet has earlier events to meet; its
        // events' JSON is made apart to be looked up, any other's in its line.
        let mut made = None;
        if !self.earlier.borrow().is_empty() {
            let json = super::event_json::event_json(&event.kind);
            let mut earlier = self.earlier.borrow_mut();
            if let Some(n) = earlier.get_mut(&json) {
                *n -= 1;
                if *n == 0 {
                    earlier.remove(&json);
                }
                return false;
            }
            made = Some(json);
        }
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        self.since_checkpoint.set(self.since_checkpoint.get() + 1);
        // A story's move is written with the event that makes it (the reason of a block
        // is the event's own).
        let story = match &event.kind {
            EventKind::TaskStarted {
                story: Some(s),
                validation,
                ..
            } => Some((
                s,
                if *validation {
                    StoryStatus::Review
                } else {
                    StoryStatus::InProgress
                },
            )),
            EventKind::StoryDone { story } => Some((story, StoryStatus::Done)),
            EventKind::StoryBlocked { story, .. } => Some((story, StoryStatus::Blocked)),
            _ => None,
        }
        .map(|(s, status)| (self.move_story(s, status), status));
        let artifacts = match &event.kind {
            EventKind::Handoff { artifacts, .. } => artifacts
                .iter()
                .map(|a| (a.path.clone(), a.sha256.clone()))
                .collect(),
            _ => Vec::new(),
        };
        // The line is made here, whole: the writer thread only joins the lines of a page.
        let mut line = String::with_capacity(LINE_ROOM);
        crate::state::push_line_head(
            &mut line,
            &EventRow {
                seq,
                at_ms: event.at_ms,
                wall_ms: now_ms(),
                kind: event.kind.name(),
                step,
                data: "",
                moved: story,
            },
        );
        match made {
            Some(json) => line.push_str(&json),
            None => super::event_json::push_event_json(&mut line, &event.kind),
        }
        line.push('}');
        self.writer.send(Op::Event {
            seq,
            line,
            artifacts,
        });
        true
    }

    /// Moves story `s` to column `status` on the board (putting it there first when it is
    /// not on it yet); its number on the board.
    fn move_story(&self, s: &str, status: StoryStatus) -> u64 {
        let mut board = self.board.borrow_mut();
        if let Some((n, place)) = board.get_mut(s) {
            let before = std::mem::replace(place, status);
            self.moved(Some(before), status);
            return *n;
        }
        let n = self.stories.get() + 1;
        self.stories.set(n);
        board.insert(s.to_string(), (n, status));
        self.moved(None, status);
        self.writer.send(Op::StoriesKnown(vec![(n, s.to_string())]));
        n
    }

    /// Counts a story moved from column `before` (none: new on the board) to `now`.
    fn moved(&self, before: Option<StoryStatus>, now: StoryStatus) {
        let mut columns = self.columns.borrow_mut();
        if let Some(b) = before {
            columns[column(b)] = columns[column(b)].saturating_sub(1);
        }
        columns[column(now)] += 1;
    }

    /// Puts stories on the board's backlog (those not on it yet).
    pub(super) fn stories_known<'a>(&self, ids: impl Iterator<Item = &'a str>) {
        let mut board = self.board.borrow_mut();
        let mut new = Vec::new();
        for id in ids {
            if !board.contains_key(id) {
                let n = self.stories.get() + 1;
                self.stories.set(n);
                board.insert(id.to_string(), (n, StoryStatus::Backlog));
                self.moved(None, StoryStatus::Backlog);
                new.push((n, id.to_string()));
            }
        }
        if !new.is_empty() {
            self.writer.send(Op::StoriesKnown(new));
        }
    }

    /// Records that step `key` started: a new start, numbered.
    pub(super) fn step_started(&self, key: &str) {
        let n = self.starts.get() + 1;
        self.starts.set(n);
        self.running.borrow_mut().insert(key.to_string(), n);
        self.writer.send(Op::StepStarted(n, key.to_string()));
    }

    /// Records how step `key` ended: a step recorded as ended is never run again.
    pub(super) fn step_finished(
        &self,
        key: &str,
        ok: bool,
        validation: bool,
        feedback: Option<&str>,
    ) {
        // A step that never started (its task was refused before it began) has no record.
        let Some(n) = self.running.borrow_mut().remove(key) else {
            return;
        };
        self.writer.send(Op::StepFinished {
            n,
            end: crate::state::StepEnd {
                ok,
                validation,
                feedback: feedback.map(str::to_string),
            },
        });
    }

    /// Waits until everything recorded so far is committed ([`Writer::flush`]).
    pub(super) fn flush(&self) {
        self.writer.flush();
    }

    /// Keeps what the agent of the task at step `key` printed.
    pub(super) fn transcript(&self, key: &str, t: crate::state::TranscriptRow) {
        self.writer
            .send(Op::Transcript(Box::new(crate::state::TranscriptRow {
                seq: self.seq.get(),
                step: key.to_string(),
                wall_ms: now_ms(),
                ..t
            })));
    }

    /// Records the sha256 of an artifact a step wrote.
    pub(super) fn artifact(&self, path: &str, sha256: &str) {
        self.writer.send(Op::Artifact(
            path.to_string(),
            sha256.to_string(),
            self.seq.get(),
        ));
    }

    /// Writes a shared state entry (`audit`: keep the value it overwrites).
    pub(super) fn write_state(&self, key: &str, value: &str, writer: &str, audit: bool) {
        self.writer.send(Op::State {
            key: key.to_string(),
            value: value.to_string(),
            writer: writer.to_string(),
            seq: self.seq.get(),
            audit,
        });
    }

    /// Whether anything was recorded since the last checkpoint.
    pub(super) fn dirty(&self) -> bool {
        self.since_checkpoint.get() > 0
    }

    /// Takes a checkpoint for `reason` (forced to disk in a real run) with a snapshot of
    /// the story board's counts.
    pub(super) fn checkpoint(&self, reason: &str) {
        let columns = *self.columns.borrow();
        let snapshot = crate::state::snapshot_of(
            StoryStatus::ALL.iter().copied().zip(columns),
            self.seq.get(),
        );
        self.writer.send(Op::Checkpoint {
            seq: self.seq.get(),
            reason: reason.to_string(),
            snapshot,
            durable: self.real,
        });
        self.since_checkpoint.set(0);
    }

    /// Asks a person for the approval of `target` at `attempt` (on disk when it returns).
    pub(super) fn ask_approval(
        &self,
        target: &str,
        attempt: u64,
        prompt: Option<&str>,
        who: Option<&str>,
    ) {
        self.writer.ask_approval(target, attempt, prompt, who);
    }

    /// The approval of `target` as the store has it now.
    pub(super) fn approval(&self, target: &str) -> Option<crate::state::Approval> {
        self.writer.approval(target)
    }

    /// Serves `bmad sync`: true when a request was waiting.
    pub(super) fn sync_requested(&self) -> bool {
        self.writer.sync_requested()
    }

    /// Records how the run ended; returns when it is on disk.
    pub(super) fn finish(&self, status: crate::state::RunStatus, reason: Option<&str>) {
        self.writer.finish(status, reason);
    }
}

/// The place of `status` in [`StoryStatus::ALL`].
fn column(status: StoryStatus) -> usize {
    StoryStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or_default()
}
