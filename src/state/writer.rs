//! The store's writer thread: a run sends what it records down a channel and goes on; the
//! thread writes it in order and commits in groups, so the scheduler never waits for the
//! disk. A real run hands each record over as it comes; records do not wake the thread
//! while it has some waiting, and it writes and commits together what came within 20 ms of
//! the first of them (one wakeup and one commit per group, each record committed within
//! 20 ms). A simulation hands its records over in batches of 4,096 (one wakeup and one
//! commit per batch). What waits for an answer (a flush, an approval, the end)
//! hands over what is queued first and wakes the thread. What is recorded is durable in
//! order: after a crash, the store holds a prefix of it.

use super::append::Appender;
use super::{RunKey, StateError, Store};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Records written between two commits at most.
const SIM_COMMIT_EVERY: usize = 4096;

/// Records a simulation hands the thread at once: one wakeup of the thread per batch, not
/// one per record (a real run hands each record over at once, to commit it in time), and
/// one commit: the steps that start and end within a batch are one row each.
const SIM_BATCH: usize = SIM_COMMIT_EVERY;

/// The longest a real run's record waits for its commit: records that come within it of
/// the first one are written and committed together, 50 commits a second at most.
const REAL_COMMIT_WINDOW: Duration = Duration::from_millis(20);

pub use super::op::Op;

/// The sending side: the writer thread and the first error it met.
pub struct Writer {
    tx: Option<Sender<Op>>,
    thread: Option<JoinHandle<()>>,
    error: Arc<Mutex<Option<StateError>>>,
    /// Records not handed over yet (a simulation's batch being filled).
    queued: std::cell::RefCell<Vec<Op>>,
    /// How many records go in a batch (1: each at once).
    batch: usize,
}

impl Writer {
    /// Starts the thread that writes the records of run `run` (whose key is `key`) into
    /// `store`; `real` hands each record over as it comes, a simulation in batches.
    pub fn start(store: Store, run: String, key: RunKey, real: bool) -> Writer {
        let (tx, rx) = channel();
        let error = Arc::new(Mutex::new(None));
        let kept = Arc::clone(&error);
        let thread = std::thread::Builder::new()
            .name("bmad-state".into())
            .spawn(move || write_all(store, (&run, key), &rx, &kept))
            .ok();
        let batch = if real { 1 } else { SIM_BATCH };
        Writer {
            tx: Some(tx),
            thread,
            error,
            queued: std::cell::RefCell::new(Vec::with_capacity(batch)),
            batch,
        }
    }

    /// Sends a record to be written.
    pub fn send(&self, op: Op) {
        if self.batch > 1 {
            let mut queued = self.queued.borrow_mut();
            queued.push(op);
            if queued.len() < self.batch {
                return;
            }
            let batch = std::mem::replace(&mut *queued, Vec::with_capacity(self.batch));
            drop(queued);
            return self.hand_over(Op::Batch(batch));
        }
        self.hand_over(op);
    }

    /// Hands the records queued so far to the thread.
    fn hand_over_queued(&self) {
        let batch = std::mem::take(&mut *self.queued.borrow_mut());
        if !batch.is_empty() {
            self.hand_over(Op::Batch(batch));
        }
    }

    /// Hands over the records queued so far and then `op`, which waits for an answer, and
    /// wakes the thread for it (records come in without waking it while it waits for
    /// their window to close).
    fn ask(&self, op: Op) {
        self.hand_over_queued();
        self.hand_over(op);
        self.wake();
    }

    /// Wakes the thread when it sleeps with records to commit.
    fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// Hands `op` to the thread, after what was queued before it.
    fn hand_over(&self, op: Op) {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(op).is_ok());
        if !sent {
            self.fail(StateError::Io("the state writer stopped".into()));
        }
    }

    fn fail(&self, e: StateError) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(e);
        }
    }

    /// The first error, if writing failed.
    pub fn error(&self) -> Option<StateError> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    /// Asks whether a `bmad sync` is waiting (false when the writer cannot tell).
    pub fn sync_requested(&self) -> bool {
        let (tx, rx) = channel();
        self.ask(Op::SyncRequested(tx));
        rx.recv().unwrap_or(false)
    }

    /// Asks a person for the approval of `target` at `attempt`; returns once it is on disk.
    pub fn ask_approval(
        &self,
        target: &str,
        attempt: u64,
        prompt: Option<&str>,
        who: Option<&str>,
    ) {
        let (tx, rx) = channel();
        self.ask(Op::AskApproval {
            target: target.to_string(),
            attempt,
            prompt: prompt.map(str::to_string),
            who: who.map(str::to_string),
            done: tx,
        });
        let _ = rx.recv();
    }

    /// The approval of `target` as the store has it now (`None` when it cannot tell).
    pub fn approval(&self, target: &str) -> Option<super::Approval> {
        let (tx, rx) = channel();
        self.ask(Op::Approval(target.to_string(), tx));
        rx.recv().ok().flatten()
    }

    /// Waits until every record sent so far is committed: a step whose effect on the world
    /// cannot be undone (resetting a story's branch) waits for the record of the decision
    /// it follows, so that a crash cannot keep the effect and lose the decision.
    pub fn flush(&self) {
        let (tx, rx) = channel();
        self.ask(Op::Flush(tx));
        let _ = rx.recv();
    }

    /// Records how the run ended and waits until it is on disk.
    pub fn finish(&self, status: super::RunStatus, reason: Option<&str>) {
        let (tx, rx) = channel();
        self.ask(Op::Finish {
            status,
            reason: reason.map(str::to_string),
            done: tx,
        });
        let _ = rx.recv();
    }
}

impl Drop for Writer {
    /// Everything sent is written and committed before the writer goes.
    fn drop(&mut self) {
        self.hand_over_queued();
        drop(self.tx.take());
        self.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_all(
    mut store: Store,
    (run, key): (&str, RunKey),
    rx: &Receiver<Op>,
    error: &Mutex<Option<StateError>>,
) {
    let keep = |r: Result<(), StateError>| {
        if let (Err(e), Ok(mut slot)) = (r, error.lock()) {
            slot.get_or_insert(e);
        }
    };
    // Records received one at a time (a real run's) and not written yet: they wait, the
    // thread asleep, for their window to close (REAL_COMMIT_WINDOW after the first of them
    // came), and are written and committed together. A simulation's batches are written
    // as they come and committed every SIM_COMMIT_EVERY records.
    let mut pending: Vec<Op> = Vec::new();
    let mut written = 0usize;
    let mut deadline: Option<Instant> = None;
    loop {
        let op = match deadline {
            // Nothing to commit: asleep on the channel until a record comes.
            None => match rx.recv() {
                Ok(op) => op,
                Err(_) => break,
            },
            // Records come in without waking the thread (it is not waiting on the
            // channel); what must be answered wakes it (`Writer::wake`).
            Some(d) => match rx.try_recv() {
                Ok(op) => op,
                Err(TryRecvError::Empty) => {
                    let now = Instant::now();
                    if now < d {
                        std::thread::park_timeout(d - now);
                        continue;
                    }
                    keep(write_batch(
                        &mut store,
                        (run, key),
                        std::mem::take(&mut pending),
                    ));
                    keep(store.commit());
                    (written, deadline) = (0, None);
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
            },
        };
        if answers(&op) {
            // What is answered sees the records before it written.
            keep(write_batch(
                &mut store,
                (run, key),
                std::mem::take(&mut pending),
            ));
        }
        match op {
            Op::Batch(ops) => {
                keep(write_batch(
                    &mut store,
                    (run, key),
                    std::mem::take(&mut pending),
                ));
                written += ops.len();
                keep(write_batch(&mut store, (run, key), ops));
            }
            Op::Finish {
                status,
                reason,
                done,
            } => {
                keep(store.end_run(run, status, reason.as_deref()));
                let _ = done.send(());
                return;
            }
            Op::SyncRequested(answer) => {
                let r = store.take_sync_requests(run);
                let _ = answer.send(r.as_ref().is_ok_and(|n| *n > 0));
                keep(r.map(drop));
                written += 1;
                deadline.get_or_insert_with(|| Instant::now() + REAL_COMMIT_WINDOW);
                continue;
            }
            Op::AskApproval {
                target,
                attempt,
                prompt,
                who,
                done,
            } => {
                keep(store.commit());
                keep(store.ask_approval(run, &target, attempt, prompt.as_deref(), who.as_deref()));
                (written, deadline) = (0, None);
                let _ = done.send(());
                continue;
            }
            Op::Approval(target, answer) => {
                // Committed first: the read sees what other processes committed since.
                keep(store.commit());
                (written, deadline) = (0, None);
                let found = store.approval(run, &target);
                let _ = answer.send(found.as_ref().ok().cloned().flatten());
                keep(found.map(drop));
                continue;
            }
            Op::Flush(done) => {
                keep(store.commit());
                (written, deadline) = (0, None);
                let _ = done.send(());
                continue;
            }
            op => {
                pending.push(op);
                deadline.get_or_insert_with(|| Instant::now() + REAL_COMMIT_WINDOW);
            }
        }
        // A window closes on time even while records keep coming (the thread only looks
        // at the clock when the channel is empty otherwise).
        if written + pending.len() >= SIM_COMMIT_EVERY
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            keep(write_batch(
                &mut store,
                (run, key),
                std::mem::take(&mut pending),
            ));
            keep(store.commit());
            (written, deadline) = (0, None);
        }
    }
    keep(write_batch(&mut store, (run, key), pending));
    keep(store.commit());
}

/// Whether `op` waits for an answer from the thread (the records before it written first).
fn answers(op: &Op) -> bool {
    matches!(
        op,
        Op::Finish { .. }
            | Op::SyncRequested(_)
            | Op::AskApproval { .. }
            | Op::Approval(..)
            | Op::Flush(_)
    )
}

/// Writes `op`, one record of a batch: the run's events and its step and story records go
/// into `page` (`end`: the end of the step `op` starts, when it came in the same batch);
/// anything else is written in place, after `page` when it commits.
fn apply(
    store: &mut Store,
    (run, key): (&str, RunKey),
    page: &mut Pages,
    op: Op,
    end: Option<&super::StepEnd>,
) -> Result<(), StateError> {
    match op {
        Op::Event {
            seq,
            line,
            artifacts,
        } => {
            for (path, sha) in &artifacts {
                store.artifact(run, path, sha, seq)?;
            }
            if !page.log.is_empty() {
                page.log.push('\n');
            }
            page.log.push_str(&line);
            page.last = Some(seq);
            Ok(())
        }
        Op::StoriesKnown(stories) => {
            for (n, story) in stories {
                super::progress_page::push_story(&mut page.progress, n, &story);
            }
            Ok(())
        }
        Op::StepStarted(n, step) => {
            super::progress_page::push_start(&mut page.progress, n, &step, end);
            Ok(())
        }
        Op::StepFinished { n, end } => {
            super::progress_page::push_end(&mut page.progress, n, &end);
            Ok(())
        }
        Op::Artifact(path, sha, seq) => store.artifact(run, &path, &sha, seq),
        Op::Transcript(t) => store.transcript(key, &t),
        Op::State {
            key: name,
            value,
            writer,
            seq,
            audit,
        } => store
            .write_state(run, &name, &value, &writer, seq, audit)
            .map(drop),
        Op::Checkpoint {
            seq,
            reason,
            snapshot,
            durable,
        } => {
            if durable {
                // It commits: what came before it is written first.
                page.write(store, key)?;
            }
            store.checkpoint(run, seq, &reason, &snapshot, durable)
        }
        Op::Batch(ops) => {
            page.write(store, key)?;
            write_batch(store, (run, key), ops)
        }
        Op::SyncRequested(_)
        | Op::Flush(_)
        | Op::Finish { .. }
        | Op::AskApproval { .. }
        | Op::Approval(..) => Ok(()),
    }
}

/// Writes the records of a batch in order. The run's events go on one page of its log and
/// its step and story records on one page of its progress, written when the batch ends (or
/// before a durable checkpoint commits in its middle): the records of other tables
/// (transcripts, artifacts, shared state, checkpoints) are written in place, and what a
/// reader or a crash sees is the batch's transaction, whole. A step that starts and ends
/// within the batch is one line, its end with its start. No step is joined across a
/// durable checkpoint.
fn write_batch(
    store: &mut Store,
    (run, key): (&str, RunKey),
    ops: Vec<Op>,
) -> Result<(), StateError> {
    let mut ops: Vec<Option<Op>> = ops.into_iter().map(Some).collect();
    // The starts not ended yet in this batch: their number and place.
    let mut open: Vec<(u64, usize)> = Vec::new();
    let mut ends: Vec<Option<super::StepEnd>> =
        std::iter::repeat_with(|| None).take(ops.len()).collect();
    let mut log_room = 0;
    for (i, slot) in ops.iter_mut().enumerate() {
        match slot {
            Some(Op::Event { line, .. }) => log_room += line.len() + 1,
            Some(Op::StepStarted(n, _)) => open.push((*n, i)),
            Some(Op::StepFinished { n, .. }) => {
                let n = *n;
                if let Some(k) = open.iter().rposition(|(m, _)| *m == n)
                    && let Some(Op::StepFinished { end, .. }) = slot.take()
                {
                    let (_, at) = open.swap_remove(k);
                    if let Some(slot) = ends.get_mut(at) {
                        *slot = Some(end);
                    }
                }
            }
            Some(Op::Checkpoint { durable: true, .. }) => open.clear(),
            _ => {}
        }
    }
    // Room for every record: the events' lines, and some 48 bytes a progress line.
    let mut page = Pages {
        log: String::with_capacity(log_room),
        last: None,
        progress: String::with_capacity(ops.len() * 48),
    };
    for (op, end) in ops
        .into_iter()
        .zip(ends)
        .filter_map(|(op, end)| op.map(|op| (op, end)))
    {
        apply(store, (run, key), &mut page, op, end.as_ref())?;
    }
    page.write(store, key)
}

/// A batch's records for the run's log and progress, gathered to be written as a page each.
struct Pages {
    /// The events' lines, in order.
    log: String,
    /// The number of the last event in `log`.
    last: Option<u64>,
    /// The step and story records, a line each.
    progress: String,
}

impl Pages {
    /// Writes what was gathered, a page for the log and one for the progress, and empties.
    fn write(&mut self, store: &mut Store, key: RunKey) -> Result<(), StateError> {
        if self.log.is_empty() && self.progress.is_empty() {
            return Ok(());
        }
        let mut a = Appender::new(store, key)?;
        if let Some(last) = self.last.take() {
            a.log_page(last, &self.log)?;
        }
        a.progress_lines(std::mem::take(&mut self.progress));
        a.finish()?;
        self.log.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Op, write_batch};
    use crate::state::{RunKey, StepEnd};

    #[test]
    fn a_batch_is_one_page_and_a_step_started_and_ended_in_it_one_line() {
        let (_dir, mut store, id) = crate::state::progress::tests::store_with_run();
        let key: RunKey = store.run_key(&id).unwrap();
        let end = |ok| Op::StepFinished {
            n: 1,
            end: StepEnd {
                ok,
                validation: false,
                feedback: None,
            },
        };
        // a ends in its batch; b starts in it and ends in the next.
        let before = store.conn.total_changes();
        let first = vec![
            Op::StepStarted(1, "a".into()),
            end(true),
            Op::StepStarted(2, "b".into()),
        ];
        write_batch(&mut store, (&id, key), first).unwrap();
        assert_eq!(store.conn.total_changes() - before, 1, "one page");
        let page: String = store
            .conn
            .query_row("SELECT records FROM progress ORDER BY page DESC", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            page.lines().count(),
            2,
            "a's start with its end, b's start: {page}"
        );
        let second = vec![Op::StepFinished {
            n: 2,
            end: StepEnd {
                ok: false,
                validation: false,
                feedback: Some("no".into()),
            },
        }];
        write_batch(&mut store, (&id, key), second).unwrap();
        store.commit().unwrap();
        let steps: Vec<(String, Option<bool>)> = store
            .step_starts(&id)
            .unwrap()
            .into_iter()
            .map(|s| (s.key, s.ok))
            .collect();
        assert_eq!(steps, [("a".into(), Some(true)), ("b".into(), Some(false))]);
    }
}
