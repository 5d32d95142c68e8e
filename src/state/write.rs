//! Writing to the state store: runs, events, steps, the story board, artifact hashes, the
//! shared state and checkpoints. Writes gather in one transaction that the run commits
//! at its durable points.

// SQLite stores integers as i64: a u64 (milliseconds, counts, sequence numbers) is
// stored by its bits with `as` and read back the same way, a lossless round trip.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use super::append::Appender;
use super::{RunStatus, StateError, Store, StoryStatus, now_ms, utc};
use rusqlite::{OptionalExtension, params};

/// One event of a run's log, as written.
#[derive(Debug, Clone, Copy)]
pub struct EventRow<'a> {
    /// Its place in the log, from 1.
    pub seq: u64,
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// Wall-clock time it happened, in Unix milliseconds.
    pub wall_ms: i64,
    /// The event's name.
    pub kind: &'a str,
    /// The step it belongs to.
    pub step: Option<&'a str>,
    /// The event as JSON.
    pub data: &'a str,
    /// The story it moves on the board (its number there) and the column it moves it to.
    pub moved: Option<(u64, StoryStatus)>,
}

/// How a step ended, as its row keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEnd {
    /// Whether it succeeded (a validation: whether it approved).
    pub ok: bool,
    /// Whether it was a QA validation.
    pub validation: bool,
    /// Feedback or failure reason.
    pub feedback: Option<String>,
}

/// A run's integer key in the store (`runs.rid`): the ids of the rows of its log, its
/// steps, its board and its transcripts are `rid << 40` + the row's number in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunKey(pub(super) i64);

/// The bits of a row's id that number it within its run.
const ROW_BITS: u32 = 40;

/// The highest number of a row within a run (and of a run's key: the id's other bits).
const MAX_ROW: u64 = (1 << ROW_BITS) - 1;

impl RunKey {
    /// The key of run `rid`, when its rows' ids can hold it (some 8 million runs).
    pub(super) fn of(rid: i64) -> Option<RunKey> {
        (0..1 << (63 - ROW_BITS))
            .contains(&rid)
            .then_some(RunKey(rid))
    }

    /// The ids of the run's rows lie between these two (exclusive, inclusive): row `n` is
    /// the first plus `n`.
    pub(super) fn span(self) -> (i64, i64) {
        let first = self.0 << ROW_BITS;
        (first, first + MAX_ROW as i64)
    }

    /// The id of the run's row number `n` (from 1).
    pub(super) fn row(self, n: u64, store: &Store) -> Result<i64, StateError> {
        if n > MAX_ROW {
            return Err(StateError::Io(format!(
                "`{}`: a run numbers at most {MAX_ROW} rows of a kind",
                store.path.display()
            )));
        }
        Ok(self.span().0 + n as i64)
    }

    /// The id after `after` rows of the run (`after` beyond them all: its last).
    pub(super) fn after(self, after: u64) -> i64 {
        self.span().0 + after.min(MAX_ROW) as i64
    }
}

/// What is known of a run when it starts.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The workflow file, as given.
    pub workflow: String,
    /// The sha256 of the workflow's text.
    pub workflow_sha256: String,
    /// The workspace root.
    pub workspace: String,
    /// Whether every agent is simulated.
    pub simulate: bool,
    /// Seed of the simulated outcomes.
    pub seed: u64,
    /// A workflow run or a `bmad monitor` session.
    pub kind: super::RunKind,
}

impl Store {
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize, StateError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(|e| self.err(e))
    }

    /// Opens a write transaction unless one is open.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn begin(&mut self) -> Result<(), StateError> {
        if !self.in_tx {
            // Through the statement cache: parsed once, not at every commit.
            self.exec("BEGIN IMMEDIATE", [])?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Commits the open transaction: what it wrote survives a crash of this process.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn commit(&mut self) -> Result<(), StateError> {
        if self.in_tx {
            self.in_tx = false;
            self.exec("COMMIT", [])?;
        }
        Ok(())
    }

    /// Commits and forces everything to disk: it survives a crash of the machine too.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn commit_durable(&mut self) -> Result<(), StateError> {
        self.commit()?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// Records a new run as running in this process; returns its id.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn begin_run(&mut self, run: &NewRun) -> Result<String, StateError> {
        let now = now_ms();
        let suffix = (u64::from(std::process::id()) ^ (now as u64).wrapping_mul(0x9e37_79b9))
            .wrapping_mul(0x2545_f491_4f6c_dd1d)
            >> 48;
        let (date, time) = utc(now);
        let id = format!(
            "{}-{}-{suffix:04x}",
            date.replace('-', ""),
            time.replace(':', "")
        );
        self.begin()?;
        self.exec(
            "INSERT INTO runs (id, workflow, workflow_sha256, workspace, simulate, seed, \
             status, started_ms, updated_ms, pid, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
             ?10, ?7, ?7, ?8, ?9)",
            params![
                id,
                run.workflow,
                run.workflow_sha256,
                run.workspace,
                run.simulate,
                run.seed as i64,
                now,
                std::process::id(),
                run.kind,
                super::RunStatus::Running
            ],
        )?;
        self.commit()?;
        Ok(id)
    }

    /// Marks a run as running again in this process (a resume).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn reopen_run(&mut self, run: &str) -> Result<(), StateError> {
        self.begin()?;
        self.exec(
            "UPDATE runs SET status = ?4, reason = NULL, ended_ms = NULL, pid = ?2, \
             updated_ms = ?3, segments = segments + 1 WHERE id = ?1",
            params![run, std::process::id(), now_ms(), RunStatus::Running],
        )?;
        self.commit()
    }

    /// Records how a run ended: succeeded, failed or interrupted.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn end_run(
        &mut self,
        run: &str,
        status: super::RunStatus,
        reason: Option<&str>,
    ) -> Result<(), StateError> {
        self.begin()?;
        let now = now_ms();
        self.exec(
            "UPDATE runs SET status = ?2, reason = ?3, ended_ms = ?4, updated_ms = ?4, \
             pid = NULL WHERE id = ?1",
            params![run, status, reason, now],
        )?;
        self.commit_durable()
    }

    /// The integer key of run `id` (exactly that id), which its rows in the log, the
    /// steps and the board carry.
    ///
    /// # Errors
    ///
    /// [`StateError::NoRun`] when there is no such run; a [`StateError`] when the database
    /// cannot be read.
    pub fn run_key(&self, id: &str) -> Result<RunKey, StateError> {
        let rid: i64 = self
            .conn
            .prepare_cached("SELECT rid FROM runs WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?
            .ok_or_else(|| StateError::NoRun(id.to_string()))?;
        RunKey::of(rid).ok_or_else(|| {
            StateError::Io(format!(
                "`{}`: run `{id}` is number {rid}, more runs than a state file keeps; move \
                 the file away to start afresh",
                self.path.display()
            ))
        })
    }

    /// Writes one progress record of run `run` as a page of its own.
    fn progress_line(&mut self, run: RunKey, line: String) -> Result<(), StateError> {
        let mut a = Appender::new(self, run)?;
        a.progress_lines(line);
        a.finish()
    }

    /// Appends an event to a run's log, with the board move it makes, if any.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn append_event(&mut self, run: RunKey, e: &EventRow) -> Result<(), StateError> {
        let mut line = String::new();
        super::log_page::push_line(&mut line, e);
        let mut a = Appender::new(self, run)?;
        a.log_page(e.seq, &line)
    }

    /// Records that a step started (again, when it was in flight before a crash, or ran
    /// and failed): a new row `n`, numbered in the order steps start, so it is appended.
    /// With `ended`, how it ended too (a start and end written in one transaction).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn step_started(
        &mut self,
        run: RunKey,
        n: u64,
        key: &str,
        ended: Option<&StepEnd>,
    ) -> Result<(), StateError> {
        let mut line = String::new();
        super::progress_page::push_start(&mut line, n, key, ended);
        self.progress_line(run, line)
    }

    /// Records how the step that started as row `n` ended (a row near the end of the
    /// table: steps end soon after they start, in the order of the scheduler).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn step_finished(&mut self, run: RunKey, n: u64, end: &StepEnd) -> Result<(), StateError> {
        let mut line = String::new();
        super::progress_page::push_end(&mut line, n, end);
        self.progress_line(run, line)
    }

    /// Puts story `story` on the board's backlog as its story number `n` (numbered in the
    /// order stories join the board).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn story_known(&mut self, run: RunKey, n: u64, story: &str) -> Result<(), StateError> {
        let mut line = String::new();
        super::progress_page::push_story(&mut line, n, story);
        self.progress_line(run, line)
    }

    /// Keeps what a task's agent printed, numbered after the run's transcripts before it.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn transcript(&mut self, run: RunKey, t: &super::TranscriptRow) -> Result<(), StateError> {
        self.begin()?;
        let (first, last) = run.span();
        self.exec(
            "INSERT INTO transcripts (id, seq, step, agent, tasks, story, attempt, ok, \
             stdout, stderr, wall_ms, prompt) \
             VALUES ((SELECT coalesce(max(id), ?1) + 1 FROM transcripts \
             WHERE id > ?1 AND id <= ?13), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                first,
                t.seq as i64,
                t.step,
                t.agent,
                t.tasks,
                t.story,
                t.attempt as i64,
                t.ok,
                t.stdout,
                t.stderr,
                t.wall_ms,
                t.prompt,
                last
            ],
        )?;
        Ok(())
    }

    /// Records the sha256 of an artifact as the run wrote or handed it over.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn artifact(
        &mut self,
        run: &str,
        path: &str,
        sha256: &str,
        seq: u64,
    ) -> Result<(), StateError> {
        self.begin()?;
        self.exec(
            "INSERT INTO artifacts (run_id, path, sha256, seq) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (run_id, path) DO UPDATE SET sha256 = ?3, seq = ?4",
            params![run, path, sha256, seq as i64],
        )?;
        Ok(())
    }

    /// Writes a shared state entry, last write wins. The value it overwrites, if another,
    /// is returned as `(value, writer)` and, with `audit`, kept in the audit trail.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn write_state(
        &mut self,
        run: &str,
        key: &str,
        value: &str,
        writer: &str,
        seq: u64,
        audit: bool,
    ) -> Result<Option<(String, String)>, StateError> {
        self.begin()?;
        let old: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT value, writer FROM state WHERE run_id = ?1 AND key = ?2")
            .and_then(|mut s| {
                s.query_row(params![run, key], |r| {
                    Ok((r.get("value")?, r.get("writer")?))
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        if old.as_ref().is_some_and(|(v, w)| v == value && w == writer) {
            return Ok(None);
        }
        if audit && let Some((old_value, old_writer)) = &old {
            self.exec(
                "INSERT INTO state_audit (run_id, key, old_value, old_writer, new_value, \
                 new_writer, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![run, key, old_value, old_writer, value, writer, seq as i64],
            )?;
        }
        self.exec(
            "INSERT INTO state (run_id, key, value, writer, seq) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (run_id, key) DO UPDATE SET value = ?3, writer = ?4, seq = ?5",
            params![run, key, value, writer, seq as i64],
        )?;
        Ok(old)
    }

    /// Records a checkpoint (`reason`: the sync point or `frequency`) with a snapshot of the
    /// run's state; `durable` commits and forces everything so far to disk, otherwise it
    /// is committed with what comes next (a simulation's checkpoints go with its batches).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn checkpoint(
        &mut self,
        run: &str,
        seq: u64,
        reason: &str,
        snapshot: &str,
        durable: bool,
    ) -> Result<(), StateError> {
        self.begin()?;
        self.exec(
            "INSERT INTO checkpoints (run_id, seq, reason, wall_ms, snapshot) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![run, seq as i64, reason, now_ms(), snapshot],
        )?;
        self.exec(
            "UPDATE runs SET updated_ms = ?2 WHERE id = ?1",
            params![run, now_ms()],
        )?;
        if durable {
            self.commit_durable()
        } else {
            Ok(())
        }
    }

    /// Asks the process running `run` for a checkpoint (`bmad sync`).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn request_sync(&mut self, run: &str) -> Result<(), StateError> {
        self.begin()?;
        self.exec(
            "INSERT INTO sync_requests (run_id, requested_ms) VALUES (?1, ?2)",
            params![run, now_ms()],
        )?;
        self.commit()
    }

    /// Takes the sync requests of `run` not yet served: how many there were. Reading
    /// opens no write transaction when there are none.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn take_sync_requests(&mut self, run: &str) -> Result<usize, StateError> {
        let waiting: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM sync_requests WHERE run_id = ?1 AND done_ms IS NULL",
            )
            .and_then(|mut s| s.query_row(params![run], |r| r.get(0)))
            .map_err(|e| self.err(e))?;
        if waiting == 0 {
            return Ok(0);
        }
        self.begin()?;
        self.exec(
            "UPDATE sync_requests SET done_ms = ?2 WHERE run_id = ?1 AND done_ms IS NULL",
            params![run, now_ms()],
        )
    }
}
