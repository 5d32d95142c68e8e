//! The run's journal in the state store: every event, the steps that started and ended
//! (a resume does not run an ended step again), the story board, artifact hashes, shared
//! state writes with their audit trail, and checkpoints. A run without a store keeps no
//! journal. The first store error is kept: the run stops at its next task rather than go
//! on without a record.

use super::event::{Event, EventKind};
use crate::state::{FinishedStep, StateError, Store};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Events a simulation records between two commits at most.
const COMMIT_EVERY: u64 = 1024;

/// Where a durable run is recorded.
pub struct Journal {
    store: RefCell<Store>,
    run: String,
    seq: Cell<u64>,
    /// Commit at the end of every step (a real run) or only at checkpoints (a simulation,
    /// whose steps touch nothing outside).
    commit_each_step: bool,
    /// Steps that ended in earlier segments of this run and are replayed, not run.
    replay: HashMap<String, FinishedStep>,
    /// Events of earlier segments not met again yet while the run catches up: their JSON
    /// and how many times.
    earlier: RefCell<HashMap<String, usize>>,
    /// Events since the last checkpoint.
    since_checkpoint: Cell<u64>,
    error: RefCell<Option<StateError>>,
    /// Stories on the board per status, for checkpoint snapshots.
    board: RefCell<HashMap<String, String>>,
}

/// What a resume starts from.
pub struct Earlier {
    /// The events of earlier segments.
    pub events: Vec<Event>,
    /// The steps that ended.
    pub finished: Vec<FinishedStep>,
    /// The last sequence number used.
    pub seq: u64,
}

impl Journal {
    /// A journal for run `run` in `store`.
    pub fn new(store: Store, run: String, commit_each_step: bool) -> Journal {
        Journal {
            store: RefCell::new(store),
            run,
            seq: Cell::new(0),
            commit_each_step,
            replay: HashMap::new(),
            earlier: RefCell::default(),
            since_checkpoint: Cell::new(0),
            error: RefCell::default(),
            board: RefCell::default(),
        }
    }

    /// Continues from what earlier segments recorded.
    pub fn continue_from(&mut self, earlier: &Earlier) -> Result<(), StateError> {
        self.seq.set(earlier.seq);
        for e in &earlier.events {
            let json = serde_json::to_string(&e.kind).unwrap_or_default();
            *self.earlier.get_mut().entry(json).or_default() += 1;
        }
        for s in &earlier.finished {
            // A validation's verdict is kept; a task that failed is tried again.
            if s.ok || s.validation {
                self.replay.insert(s.key.clone(), s.clone());
            }
        }
        let board = self.store.get_mut().board(&self.run)?;
        *self.board.get_mut() = board.into_iter().map(|b| (b.story, b.status)).collect();
        Ok(())
    }

    /// The run's id.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// How step `key` ended in an earlier segment, when it is not to run again.
    pub fn replayed(&self, key: &str) -> Option<&FinishedStep> {
        self.replay.get(key)
    }

    fn keep(&self, r: Result<(), StateError>) {
        if let Err(e) = r {
            self.error.borrow_mut().get_or_insert(e);
        }
    }

    /// The store's first error, if it failed.
    pub fn failure(&self) -> Option<String> {
        self.error.borrow().as_ref().map(|e| e.to_string())
    }

    /// Records an event; false when it is an event of an earlier segment met again while
    /// the run catches up (it is not recorded twice).
    pub fn event(&self, event: &Event, step: Option<&str>) -> bool {
        let json = serde_json::to_string(&event.kind).unwrap_or_default();
        {
            let mut earlier = self.earlier.borrow_mut();
            if let Some(n) = earlier.get_mut(&json) {
                *n -= 1;
                if *n == 0 {
                    earlier.remove(&json);
                }
                return false;
            }
        }
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        self.since_checkpoint.set(self.since_checkpoint.get() + 1);
        let (name, _) = event.kind.summary();
        let mut store = self.store.borrow_mut();
        let mut r = store.append_event(&self.run, seq, event.at_ms, name, step, &json);
        let status = match &event.kind {
            EventKind::TaskStarted {
                story: Some(s),
                validation,
                ..
            } => Some((s, if *validation { "review" } else { "in_progress" }, None)),
            EventKind::StoryDone { story } => Some((story, "done", None)),
            EventKind::StoryBlocked { story, reason } => {
                Some((story, "blocked", Some(reason.as_str())))
            }
            _ => None,
        };
        if let Some((story, status, reason)) = status {
            self.board.borrow_mut().insert(story.clone(), status.into());
            r = r.and_then(|()| store.story_status(&self.run, story, status, seq, reason));
        }
        if let EventKind::Handoff { artifacts, .. } = &event.kind {
            for a in artifacts {
                r = r.and_then(|()| store.artifact(&self.run, &a.path, &a.sha256, seq));
            }
        }
        // A real run commits what its steps do as they do it; a simulation in batches.
        if self.commit_each_step || seq.is_multiple_of(COMMIT_EVERY) {
            r = r.and_then(|()| store.commit());
        }
        drop(store);
        self.keep(r);
        true
    }

    /// Puts stories on the board's backlog (those not on it yet).
    pub fn stories_known<'a>(&self, ids: impl Iterator<Item = &'a str>) {
        let mut store = self.store.borrow_mut();
        let mut board = self.board.borrow_mut();
        let seq = self.seq.get();
        let mut r = Ok(());
        for id in ids {
            if !board.contains_key(id) {
                board.insert(id.to_string(), "backlog".into());
                r = r.and_then(|()| store.story_known(&self.run, id, seq));
            }
        }
        drop((store, board));
        self.keep(r);
    }

    /// Records that step `key` started and, in a real run, commits: a crash from here on
    /// leaves it in flight, to run again from its start.
    pub fn step_started(&self, key: &str) {
        let mut store = self.store.borrow_mut();
        let mut r = store.step_started(&self.run, key, self.seq.get());
        if self.commit_each_step {
            r = r.and_then(|()| store.commit());
        }
        drop(store);
        self.keep(r);
    }

    /// Records how step `key` ended and, in a real run, commits: a step recorded as ended
    /// is never run again.
    pub fn step_finished(&self, key: &str, ok: bool, validation: bool, feedback: Option<&str>) {
        let mut store = self.store.borrow_mut();
        let mut r = store.step_finished(&self.run, key, self.seq.get(), ok, validation, feedback);
        if self.commit_each_step {
            r = r.and_then(|()| store.commit());
        }
        drop(store);
        self.keep(r);
    }

    /// Records the sha256 of an artifact a step wrote.
    pub fn artifact(&self, path: &str, sha256: &str) {
        let r = self
            .store
            .borrow_mut()
            .artifact(&self.run, path, sha256, self.seq.get());
        self.keep(r);
    }

    /// Writes a shared state entry; the overwritten value, if another.
    pub fn write_state(&self, key: &str, value: &str, writer: &str, audit: bool) {
        let mut store = self.store.borrow_mut();
        let r = store
            .write_state(&self.run, key, value, writer, self.seq.get(), audit)
            .map(drop);
        drop(store);
        self.keep(r);
    }

    /// Whether anything was recorded since the last checkpoint.
    pub fn dirty(&self) -> bool {
        self.since_checkpoint.get() > 0
    }

    /// Takes a checkpoint for `reason` (durable on disk in a real run) with a snapshot of
    /// the story board's counts.
    pub fn checkpoint(&self, reason: &str) {
        let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
        let board = self.board.borrow();
        for status in board.values() {
            *counts.entry(status.as_str()).or_default() += 1;
        }
        let snapshot = serde_json::json!({ "board": counts, "events": self.seq.get() }).to_string();
        drop(board);
        let mut store = self.store.borrow_mut();
        let r = store.checkpoint(
            &self.run,
            self.seq.get(),
            reason,
            &snapshot,
            self.commit_each_step,
        );
        drop(store);
        self.since_checkpoint.set(0);
        self.keep(r);
    }

    /// Serves `bmad sync` requests: true when one was waiting.
    pub fn sync_requested(&self) -> bool {
        let r = self.store.borrow_mut().take_sync_requests(&self.run);
        match r {
            Ok(n) => n > 0,
            Err(e) => {
                self.keep(Err(e));
                false
            }
        }
    }

    /// Records how the run ended and commits everything.
    pub fn finish(&self, status: &str, reason: Option<&str>) {
        let r = self.store.borrow_mut().end_run(&self.run, status, reason);
        self.keep(r);
    }
}
