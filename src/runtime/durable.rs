//! Durable runs: recording a run in the state store, resuming one (steps that ended are
//! replayed, not run; artifacts are checked against their recorded sha256 first; agents
//! left running by a crashed process are stopped), and the sync points.

use super::Runner;
use super::event::{Event, EventKind};
use super::journal::{Earlier, Journal};
use super::resume::ResumeRefused;
use super::steps::Ctx;
use super::sync::Write;
use crate::state::{FinishedStep, NewRun, RunInfo, RunKind, StateError, Store};

/// What a resume found before it ran anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Resumed {
    /// The run.
    pub run: String,
    /// Steps that ended and are not run again.
    pub finished: usize,
    /// Steps that were in flight at the crash and run again from their start.
    pub in_flight: Vec<String>,
    /// Agent processes of the crashed run that were still running, stopped.
    pub stopped: usize,
    /// Artifacts changed or missing since the run recorded them (a resume with `force`).
    pub changed: Vec<String>,
}

/// Artifacts recorded by `run` whose file is missing or whose sha256 differs now.
///
/// # Errors
///
/// A [`StateError`] when the run's artifacts cannot be read from `store`.
pub fn changed_artifacts(
    store: &Store,
    run: &str,
    workspace: &super::workspace::Workspace,
) -> Result<Vec<String>, StateError> {
    let mut changed = Vec::new();
    for (path, sha) in store.artifacts(run)? {
        let now = workspace
            .resolve(&path)
            .ok()
            .filter(|p| p.exists())
            .map(|p| super::digest::sha256_path(&p));
        match now {
            None => changed.push(format!("{path}: missing")),
            Some(Err(e)) => changed.push(format!("{path}: not readable ({e})")),
            Some(Ok(s)) if s != sha => changed.push(format!(
                "{path}: changed (recorded sha256 {}, now {})",
                &sha[..12.min(sha.len())],
                &s[..12]
            )),
            Some(Ok(_)) => {}
        }
    }
    Ok(changed)
}

/// Set (to `1`) in the environment of an agent a worker runs for a coordinator elsewhere.
pub const REMOTE_VAR: &str = "BMAD_REMOTE";

/// Stops the process groups of agents that a crashed run left running: processes whose
/// environment says `BMAD_RUN_ID=<run>`, less those a worker runs for it (`BMAD_REMOTE=1`:
/// their tasks go on, and the resumed run attaches to them). Returns how many groups were
/// stopped.
pub fn stop_orphans(run: &str) -> usize {
    let marker = format!("BMAD_RUN_ID={run}");
    let remote = format!("{REMOTE_VAR}=1");
    // A pid fits a pid_t: Linux keeps them under 2^22.
    #[allow(clippy::cast_possible_wrap)]
    let me = std::process::id() as i32;
    let mut groups = std::collections::BTreeSet::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(p.path().join("environ")) else {
            continue;
        };
        let mut vars = env.split(|b| *b == 0);
        if vars.clone().any(|kv| kv == marker.as_bytes()) && !vars.any(|kv| kv == remote.as_bytes())
        {
            // SAFETY: getpgid only reads the process table.
            let group = unsafe { libc::getpgid(pid) };
            // SAFETY: the same, for our own process group.
            let own = unsafe { libc::getpgid(0) };
            if group > 1 && group != own {
                groups.insert(group);
            }
        }
    }
    for g in &groups {
        // SAFETY: signals a process group of the crashed run's agents.
        unsafe { libc::kill(-g, libc::SIGKILL) };
    }
    groups.len()
}

impl Runner {
    /// Records this run in `store` as a new run of `workflow` (whose text has
    /// `workflow_sha256`); returns its id.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn record_to(
        &mut self,
        store: Store,
        workflow: &str,
        workflow_sha256: &str,
    ) -> Result<String, StateError> {
        self.record_as(store, workflow, workflow_sha256, RunKind::Run)
    }

    /// Closes the run's state store, as dropping the runner does: everything recorded is
    /// written and committed, and the database is closed. For a caller that ends its
    /// process once the run has ended ([`Runner::run`] returned, or
    /// [`Runner::interrupted`]) without dropping the runner. Nothing recorded after it is
    /// stored; a runner recorded in no store has nothing to close.
    pub fn close_store(&mut self) {
        self.rec.close_journal();
    }

    /// Records this runner in `store` as a new run of `kind`: a workflow run, or a `bmad
    /// monitor` session (never resumed); returns its id.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn record_as(
        &mut self,
        mut store: Store,
        workflow: &str,
        workflow_sha256: &str,
        kind: RunKind,
    ) -> Result<String, StateError> {
        let id = store.begin_run(&NewRun {
            kind,
            workflow: workflow.to_string(),
            workflow_sha256: workflow_sha256.to_string(),
            workspace: self.options.workspace.display().to_string(),
            simulate: self.options.simulate,
            seed: self.options.seed,
        })?;
        self.rec.keep_in(Journal::new(
            store,
            id.clone(),
            !self.options.simulate,
            None,
        )?);
        Ok(id)
    }

    /// Continues `run` from `store`: what ended is replayed, what was in flight runs again.
    /// Artifacts the run recorded must be as it left them, unless `force`; agent processes
    /// the crashed run left are stopped first. Whether `run` may be resumed at all is
    /// [`resumable`](super::resume::resumable)'s to say ([`Runner::resume_from`] asks it).
    ///
    /// # Errors
    ///
    /// A [`ResumeRefused`]: the store cannot be read or written
    /// ([`ResumeRefused::State`]), or the run's artifacts changed and `force` is not given.
    pub fn resume(
        &mut self,
        mut store: Store,
        run: &RunInfo,
        force: bool,
    ) -> Result<Resumed, ResumeRefused> {
        store.verify().map_err(ResumeRefused::Replay)?;
        let changed =
            changed_artifacts(&store, &run.id, &self.workspace).map_err(ResumeRefused::Replay)?;
        if !changed.is_empty() && !force {
            return Err(ResumeRefused::ArtifactsChanged {
                id: run.id.clone(),
                changed,
            });
        }
        let stopped = stop_orphans(&run.id);
        let stored = store.events(&run.id).map_err(ResumeRefused::Replay)?;
        let mut events = Vec::with_capacity(stored.len());
        for s in &stored {
            let kind: EventKind = serde_json::from_value(s.data.clone()).map_err(|err| {
                ResumeRefused::UnreadableEvent {
                    id: run.id.clone(),
                    seq: s.seq,
                    message: err.to_string(),
                }
            })?;
            events.push(Event {
                at_ms: s.at_ms,
                kind,
            });
        }
        let finished: Vec<FinishedStep> = store
            .finished_steps(&run.id)
            .map_err(ResumeRefused::Replay)?;
        let in_flight = store
            .steps_in_flight(&run.id)
            .map_err(ResumeRefused::Replay)?;
        let (seq, at) = store.last_event(&run.id).map_err(ResumeRefused::Replay)?;
        self.shared
            .borrow_mut()
            .restore(store.state(&run.id).map_err(ResumeRefused::Replay)?);
        store.reopen_run(&run.id).map_err(ResumeRefused::Replay)?;
        let earlier = Earlier {
            events,
            finished,
            seq,
        };
        let journal = Journal::new(
            store,
            run.id.clone(),
            !self.options.simulate,
            Some(&earlier),
        )
        .map_err(ResumeRefused::Replay)?;
        self.rec.keep_in(journal);
        self.segment = run.segments + 1;
        let count = earlier.finished.iter().filter(|s| s.replayable()).count();
        self.rec.resume_at(at, earlier.events);
        // What earlier segments spent counts against the budget.
        self.budget.restore(&self.rec.events());
        Ok(Resumed {
            run: run.id.clone(),
            finished: count,
            in_flight,
            stopped,
            changed,
        })
    }

    /// The workspace the run works in.
    pub fn workspace_root(&self) -> &std::path::Path {
        &self.options.workspace
    }

    /// The run's id in the state store, when it is recorded.
    pub fn run_id(&self) -> Option<&str> {
        self.rec.journal().map(Journal::run)
    }

    /// How the step at `ctx` ended before a resume, when it is not to run again.
    pub(super) fn replayed(&self, ctx: &Ctx) -> Option<&FinishedStep> {
        self.rec.journal()?.replayed(&ctx.path)
    }

    /// Waits until everything the run recorded so far is committed to the store.
    pub(super) fn flush_journal(&self) {
        if let Some(j) = self.rec.journal() {
            j.flush();
        }
    }

    /// Records that the step at `ctx` started.
    pub(super) fn step_started(&self, ctx: &Ctx) {
        if let Some(j) = self.rec.journal() {
            j.step_started(&ctx.path);
        }
    }

    /// Records how the step at `ctx` ended.
    pub(super) fn step_finished(
        &self,
        ctx: &Ctx,
        ok: bool,
        validation: bool,
        feedback: Option<&str>,
    ) {
        if let Some(j) = self.rec.journal() {
            let feedback = feedback.map(|f| self.mask(f));
            j.step_finished(&ctx.path, ok, validation, feedback.as_deref());
        }
    }

    /// Writes to the shared state: at once under immediate consistency, at the next sync
    /// point otherwise.
    pub(super) fn share(&self, w: Write) {
        if self.sync.immediate {
            self.apply(&[w]);
        } else {
            self.shared.borrow_mut().queue(w);
        }
    }

    fn apply(&self, writes: &[Write]) {
        if writes.is_empty() {
            return;
        }
        let conflicts = self
            .shared
            .borrow_mut()
            .apply(writes, &self.sync, &self.agent_names);
        if let Some(j) = self.rec.journal() {
            for w in writes {
                j.write_state(&w.key, &w.value, &w.writer, self.sync.audit);
            }
        }
        for c in conflicts {
            self.note(
                "sync",
                format!(
                    "conflict on `{}`: `{}` overwrote the value of `{}` (last write wins){}",
                    c.key,
                    c.won,
                    c.lost,
                    if c.notified.is_empty() {
                        String::new()
                    } else {
                        format!("; told {}", c.notified.join(", "))
                    }
                ),
            );
        }
    }

    /// A place where the run may sync: when the workflow declares `point` a sync point
    /// (the run's end always is one), the pending shared state writes apply and a
    /// checkpoint is taken.
    pub(super) fn sync_point(&self, point: &str) {
        if point == "run_end" || self.sync.at(point) {
            self.sync_now(point);
        }
    }

    /// Applies the pending shared state writes and takes a checkpoint for `reason`.
    fn sync_now(&self, reason: &str) {
        let pending = self.shared.borrow_mut().take_pending();
        self.apply(&pending);
        if let Some(j) = self.rec.journal() {
            j.checkpoint(reason);
        }
    }

    /// Takes checkpoints while the run goes on: in a real run whose workflow lists
    /// `manual_trigger`, when `bmad sync` asks (polled each second); at the workflow's
    /// frequency when something happened since the last one. Never returns.
    pub(super) async fn checkpoint_timer(&self) {
        let Some(j) = self.rec.journal() else {
            return std::future::pending().await;
        };
        let manual = !self.options.simulate && self.sync.at("manual_trigger");
        let every = self.sync.every;
        let tick = match (manual, every) {
            (true, _) => std::time::Duration::from_secs(1),
            (false, Some(d)) => d,
            (false, None) => return std::future::pending().await,
        };
        let mut last = tokio::time::Instant::now();
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            interval.tick().await;
            if manual && j.sync_requested() {
                self.sync_now("manual_trigger");
            }
            if let Some(d) = every
                && last.elapsed() >= d
            {
                last = tokio::time::Instant::now();
                if j.dirty() {
                    self.sync_now("frequency");
                }
            }
        }
    }
}
