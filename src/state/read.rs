//! Reading the state store: the runs, one run's log, board, steps, artifacts, shared state
//! audit trail and checkpoints.

// SQLite stores integers as i64: a u64 (milliseconds, counts, sequence numbers) is
// stored by its bits with `as` and read back the same way, a lossless round trip.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use super::{RunKind, RunStatus, StateError, Store, StoryStatus};
use rusqlite::{Row, params};
use serde::Serialize;

/// One run, as `bmad runs` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The run's id.
    pub id: String,
    /// The workflow file, as given.
    pub workflow: String,
    /// The sha256 of the workflow's text when the run started.
    pub workflow_sha256: String,
    /// The workspace root.
    pub workspace: String,
    /// Whether every agent was simulated.
    pub simulate: bool,
    /// Seed of the simulated outcomes.
    pub seed: u64,
    /// How it stands; [`RunStatus::Crashed`] when it is recorded as running by a process
    /// that is gone.
    pub status: RunStatus,
    /// Why it failed or stopped.
    pub reason: Option<String>,
    /// Start, in Unix milliseconds.
    pub started_ms: i64,
    /// Last change, in Unix milliseconds.
    pub updated_ms: i64,
    /// End, in Unix milliseconds.
    pub ended_ms: Option<i64>,
    /// How many times it was started (1 + resumes).
    pub segments: u32,
    /// Events recorded.
    pub events: u64,
    /// A workflow run or a `bmad monitor` session.
    pub kind: RunKind,
}

/// One event of a run's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// Its place in the run's log, from 1.
    pub seq: u64,
    /// Milliseconds since the run started (virtual in simulations).
    pub at_ms: u64,
    /// Wall-clock time it was recorded, in Unix milliseconds.
    pub wall_ms: i64,
    /// The event's name.
    pub kind: String,
    /// The step it belongs to, if any.
    pub step: Option<String>,
    /// The event as JSON.
    pub data: serde_json::Value,
}

/// What one task's agent printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptRow {
    /// Its place among the run's records (the event sequence number when it was kept).
    pub seq: u64,
    /// The step's place in the workflow.
    pub step: String,
    /// The agent.
    pub agent: String,
    /// The tasks, comma-separated.
    pub tasks: String,
    /// The story, inside a for-each.
    pub story: Option<String>,
    /// The attempt, from 1.
    pub attempt: u64,
    /// Whether the task succeeded (a verdict: approved).
    pub ok: bool,
    /// Its standard output (capped).
    pub stdout: String,
    /// Its standard error (capped).
    pub stderr: String,
    /// When it was kept, in Unix milliseconds.
    pub wall_ms: i64,
    /// The prompt the task was given (masked and capped like the streams); none in a store
    /// from before schema 6 (and then left out of the JSON `bmad runs log` prints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// A step that ended, as a resume replays it.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedStep {
    /// The step's place in the workflow.
    pub key: String,
    /// Whether it succeeded (a validation: whether it approved).
    pub ok: bool,
    /// Whether it was a QA validation.
    pub validation: bool,
    /// Feedback or failure reason.
    pub feedback: Option<String>,
}

impl FinishedStep {
    /// Whether a resume replays it rather than run it again: a step that succeeded, or a
    /// validation (its verdict stands). A task that failed is tried again.
    pub fn replayable(&self) -> bool {
        self.ok || self.validation
    }
}

/// A story's place on the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardEntry {
    /// The story.
    pub story: String,
    /// Its column: backlog, `in_progress`, review, done or blocked.
    pub status: StoryStatus,
    /// Why it is blocked.
    pub reason: Option<String>,
}

/// A shared state value that was overwritten.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// The key.
    pub key: String,
    /// The value overwritten.
    pub old_value: String,
    /// Who wrote it.
    pub old_writer: String,
    /// The value that won.
    pub new_value: String,
    /// Who wrote that.
    pub new_writer: String,
    /// Where in the log.
    pub seq: u64,
}

/// A checkpoint taken at a sync point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Where in the log.
    pub seq: u64,
    /// The sync point, or `frequency`.
    pub reason: String,
    /// When, in Unix milliseconds.
    pub wall_ms: i64,
}

const RUN_COLUMNS: &str = "id, workflow, workflow_sha256, workspace, simulate, seed, status, \
     reason, started_ms, updated_ms, ended_ms, segments, pid, \
     (SELECT coalesce(max(id) - (runs.rid << 40), 0) FROM log \
     WHERE id > runs.rid << 40 AND id <= (runs.rid << 40) + 1099511627775) AS events, kind";

/// Whether process `pid` is alive.
fn alive(pid: i64) -> bool {
    // SAFETY: signal 0 sends nothing; it checks that the process exists (and is ours).
    libc::pid_t::try_from(pid).is_ok_and(|pid| pid > 0 && unsafe { libc::kill(pid, 0) } == 0)
}

fn run_info(r: &Row) -> rusqlite::Result<RunInfo> {
    let mut status: RunStatus = r.get("status")?;
    let pid: Option<i64> = r.get("pid")?;
    if status.live() && !pid.is_some_and(alive) {
        status = RunStatus::Crashed;
    }
    Ok(RunInfo {
        id: r.get("id")?,
        workflow: r.get("workflow")?,
        workflow_sha256: r.get("workflow_sha256")?,
        workspace: r.get("workspace")?,
        simulate: r.get("simulate")?,
        seed: r.get::<_, i64>("seed")? as u64,
        status,
        reason: r.get("reason")?,
        started_ms: r.get("started_ms")?,
        updated_ms: r.get("updated_ms")?,
        ended_ms: r.get("ended_ms")?,
        segments: r.get("segments")?,
        events: r.get::<_, i64>("events")? as u64,
        kind: r.get("kind")?,
    })
}

impl Store {
    pub(super) fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StateError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_map(params, f)?.collect())
            .map_err(|e| self.err(e))
    }

    /// Every run, the newest first.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn runs(&self) -> Result<Vec<RunInfo>, StateError> {
        self.rows(
            &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_ms DESC, id DESC"),
            [],
            run_info,
        )
    }

    /// The run whose id is `id` or starts with it.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn run(&self, id: &str) -> Result<RunInfo, StateError> {
        let like = format!("{}%", id.replace(['%', '_'], ""));
        let found = self.rows(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1 OR id LIKE ?2 ORDER BY id"),
            params![id, like],
            run_info,
        )?;
        if let Some(exact) = found.iter().find(|r| r.id == id) {
            return Ok(exact.clone());
        }
        match found.len() {
            0 => Err(StateError::NoRun(id.to_string())),
            1 => Ok(found.into_iter().next().unwrap_or_else(|| unreachable!())),
            _ => Err(StateError::Ambiguous(
                id.to_string(),
                found.into_iter().map(|r| r.id).collect(),
            )),
        }
    }

    /// The newest run of `workflow` that did not succeed, if any: what `--resume` without
    /// an id picks up.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn latest_unfinished(&self, workflow: &str) -> Result<Option<RunInfo>, StateError> {
        let runs = self.rows(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE workflow = ?1 AND kind = ?2 AND status != ?3 \
                 ORDER BY started_ms DESC, id DESC LIMIT 1"
            ),
            params![workflow, RunKind::Run, RunStatus::Succeeded],
            run_info,
        )?;
        Ok(runs.into_iter().next())
    }

    /// A run's event log, in order.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn events(&self, run: &str) -> Result<Vec<StoredEvent>, StateError> {
        let Some(key) = self.key_of(run)? else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        self.each_event(key, 0, |line| {
            let data = line.data.get();
            events.push(StoredEvent {
                seq: line.seq,
                at_ms: line.at_ms,
                wall_ms: line.wall_ms,
                kind: line.kind.into_owned(),
                step: line.step.map(std::borrow::Cow::into_owned),
                data: serde_json::from_str(data)
                    .unwrap_or_else(|_| serde_json::Value::String(data.to_string())),
            });
            Ok(true)
        })?;
        Ok(events)
    }

    /// What the tasks of a run printed, in order, from those kept after `after_seq` (0: all);
    /// only the steps whose place starts with `step`, when given.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn transcripts(
        &self,
        run: &str,
        step: Option<&str>,
        after_seq: u64,
    ) -> Result<Vec<TranscriptRow>, StateError> {
        // The place as a prefix: its `%`, `_` and `\` taken as themselves (a phase named
        // `sprint_planning`).
        let escaped: String = step
            .unwrap_or("")
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let like = format!("{escaped}%");
        let Some(key) = self.key_of(run)? else {
            return Ok(Vec::new());
        };
        let (first, last) = key.span();
        // Kept in the order of their seq: the run's range, in order, from the first after.
        self.rows(
            "SELECT seq, step, agent, tasks, story, attempt, ok, stdout, stderr, wall_ms, prompt \
             FROM transcripts WHERE id > ?1 AND id <= ?2 AND seq > ?3 \
             AND step LIKE ?4 ESCAPE '\\' ORDER BY id",
            params![first, last, after_seq as i64, like],
            |r| {
                Ok(TranscriptRow {
                    seq: r.get::<_, i64>("seq")? as u64,
                    step: r.get("step")?,
                    agent: r.get("agent")?,
                    tasks: r.get("tasks")?,
                    story: r.get("story")?,
                    attempt: r.get::<_, i64>("attempt")? as u64,
                    ok: r.get("ok")?,
                    stdout: r.get("stdout")?,
                    stderr: r.get("stderr")?,
                    wall_ms: r.get("wall_ms")?,
                    prompt: r.get("prompt")?,
                })
            },
        )
    }

    /// The last sequence number and event time of a run's log (0, 0 when empty).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn last_event(&self, run: &str) -> Result<(u64, u64), StateError> {
        let Some(key) = self.key_of(run)? else {
            return Ok((0, 0));
        };
        self.last_line(key)
    }

    /// The artifacts a run recorded, with their last sha256.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn artifacts(&self, run: &str) -> Result<Vec<(String, String)>, StateError> {
        self.rows(
            "SELECT path, sha256 FROM artifacts WHERE run_id = ?1 ORDER BY path",
            params![run],
            |r| Ok((r.get("path")?, r.get("sha256")?)),
        )
    }

    /// A run's shared state: key, value and writer.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn state(&self, run: &str) -> Result<Vec<(String, String, String)>, StateError> {
        self.rows(
            "SELECT key, value, writer FROM state WHERE run_id = ?1 ORDER BY key",
            params![run],
            |r| Ok((r.get("key")?, r.get("value")?, r.get("writer")?)),
        )
    }

    /// Every shared state value a run overwrote, in order.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn audit(&self, run: &str) -> Result<Vec<AuditEntry>, StateError> {
        self.rows(
            "SELECT key, old_value, old_writer, new_value, new_writer, seq FROM state_audit \
             WHERE run_id = ?1 ORDER BY seq, rowid",
            params![run],
            |r| {
                Ok(AuditEntry {
                    key: r.get("key")?,
                    old_value: r.get("old_value")?,
                    old_writer: r.get("old_writer")?,
                    new_value: r.get("new_value")?,
                    new_writer: r.get("new_writer")?,
                    seq: r.get::<_, i64>("seq")? as u64,
                })
            },
        )
    }

    /// A run's checkpoints, in order.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn checkpoints(&self, run: &str) -> Result<Vec<Checkpoint>, StateError> {
        self.rows(
            "SELECT seq, reason, wall_ms FROM checkpoints WHERE run_id = ?1 ORDER BY rowid",
            params![run],
            |r| {
                Ok(Checkpoint {
                    seq: r.get::<_, i64>("seq")? as u64,
                    reason: r.get("reason")?,
                    wall_ms: r.get("wall_ms")?,
                })
            },
        )
    }
}
