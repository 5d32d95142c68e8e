//! The rows a run writes for each task (its events, steps and stories), written through
//! statements taken from the connection's cache once and held while a batch of records is
//! written: a record costs its bindings and its step, not a lookup of its statement by
//! its text (hashing the SQL, taking the statement out of the cache and putting it back,
//! clearing its bindings), which was a fifth of the writer thread's time (issue 21).

// SQLite stores integers as i64: a u64 (milliseconds, sequence numbers) is stored by its
// bits with `as` and read back the same way, a lossless round trip.
#![allow(clippy::cast_possible_wrap)]

use super::{EventRow, RunKey, StateError, StepEnd, Store};
use rusqlite::{CachedStatement, params};

const INSERT_EVENT: &str = "INSERT INTO events (id, at_ms, wall_ms, kind, step, story, moved, \
                            data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/// Events written by one statement, when so many come: a multi-row insert runs its rows
/// through one cursor, each row appended where the last one went, not sought from the
/// table's root.
pub(crate) const EVENTS_AT_ONCE: usize = 32;

/// The insert of [`EVENTS_AT_ONCE`] events (its text made once).
static INSERT_EVENTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(insert_events);

/// The text of the insert of [`EVENTS_AT_ONCE`] events.
fn insert_events() -> String {
    use std::fmt::Write;
    let mut sql = String::from(
        "INSERT INTO events (id, at_ms, wall_ms, kind, step, story, moved, data) VALUES ",
    );
    for i in 0..EVENTS_AT_ONCE {
        let p = i * 8;
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(
            sql,
            "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8
        );
    }
    sql
}

const INSERT_STEP: &str = "INSERT INTO steps (id, key) VALUES (?1, ?2)";
const INSERT_ENDED_STEP: &str = "INSERT INTO steps (id, key, ok, validation, feedback) \
                                 VALUES (?1, ?2, ?3, ?4, ?5)";
const END_STEP: &str = "UPDATE steps SET ok = ?2, validation = ?3, feedback = ?4 WHERE id = ?1";
const INSERT_STORY: &str = "INSERT INTO stories (id, story) VALUES (?1, ?2)";

/// Writes a run's events, steps and stories in the store's open transaction, each kind
/// through one statement prepared (or taken from the cache) at its first use and held
/// until the appender goes.
pub(crate) struct Appender<'s> {
    store: &'s Store,
    run: RunKey,
    event: Option<CachedStatement<'s>>,
    events: Option<CachedStatement<'s>>,
    step: Option<CachedStatement<'s>>,
    ended_step: Option<CachedStatement<'s>>,
    end_step: Option<CachedStatement<'s>>,
    story: Option<CachedStatement<'s>>,
}

impl<'s> Appender<'s> {
    /// An appender for run `run`, with a write transaction open in `store` for as long as
    /// it lives (nothing else can commit it meanwhile: the store is borrowed).
    pub(crate) fn new(store: &'s mut Store, run: RunKey) -> Result<Appender<'s>, StateError> {
        store.begin()?;
        Ok(Appender {
            store,
            run,
            event: None,
            events: None,
            step: None,
            ended_step: None,
            end_step: None,
            story: None,
        })
    }

    /// Runs `sql` with `params` through the statement held in `slot` (prepared first, when
    /// none is held yet).
    fn run(
        store: &'s Store,
        slot: &mut Option<CachedStatement<'s>>,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<(), StateError> {
        if slot.is_none() {
            *slot = Some(store.conn.prepare_cached(sql).map_err(|e| store.err(e))?);
        }
        if let Some(statement) = slot {
            statement.execute(params).map_err(|e| store.err(e))?;
        }
        Ok(())
    }

    /// Appends an event to the run's log, with the board move it makes, if any.
    pub(crate) fn event(&mut self, e: &EventRow) -> Result<(), StateError> {
        let (story, moved) = e
            .moved
            .map_or((None, None), |(n, s)| (Some(n as i64), Some(s)));
        let id = self.run.row(e.seq, self.store)?;
        Self::run(
            self.store,
            &mut self.event,
            INSERT_EVENT,
            params![
                id,
                e.at_ms as i64,
                e.wall_ms,
                e.kind,
                e.step,
                story,
                moved,
                e.data
            ],
        )
    }

    /// Appends events to the run's log, in order.
    pub(crate) fn events(&mut self, rows: &[EventRow]) -> Result<(), StateError> {
        let mut chunks = rows.chunks_exact(EVENTS_AT_ONCE);
        for chunk in &mut chunks {
            if self.events.is_none() {
                self.events = Some(
                    self.store
                        .conn
                        .prepare_cached(&INSERT_EVENTS)
                        .map_err(|e| self.store.err(e))?,
                );
            }
            let Some(statement) = &mut self.events else {
                break;
            };
            for (i, e) in chunk.iter().enumerate() {
                let (story, moved) = e
                    .moved
                    .map_or((None, None), |(n, s)| (Some(n as i64), Some(s)));
                let id = self.run.row(e.seq, self.store)?;
                let p = i * 8;
                (|| {
                    statement.raw_bind_parameter(p + 1, id)?;
                    statement.raw_bind_parameter(p + 2, e.at_ms as i64)?;
                    statement.raw_bind_parameter(p + 3, e.wall_ms)?;
                    statement.raw_bind_parameter(p + 4, e.kind)?;
                    statement.raw_bind_parameter(p + 5, e.step)?;
                    statement.raw_bind_parameter(p + 6, story)?;
                    statement.raw_bind_parameter(p + 7, moved)?;
                    statement.raw_bind_parameter(p + 8, e.data)
                })()
                .map_err(|e| self.store.err(e))?;
            }
            statement.raw_execute().map_err(|e| self.store.err(e))?;
        }
        for e in chunks.remainder() {
            self.event(e)?;
        }
        Ok(())
    }

    /// Records the start `n` of step `key`; with `ended`, how it ended too.
    pub(crate) fn step_started(
        &mut self,
        n: u64,
        key: &str,
        ended: Option<&StepEnd>,
    ) -> Result<(), StateError> {
        let id = self.run.row(n, self.store)?;
        match ended {
            None => Self::run(self.store, &mut self.step, INSERT_STEP, params![id, key]),
            Some(e) => Self::run(
                self.store,
                &mut self.ended_step,
                INSERT_ENDED_STEP,
                params![id, key, e.ok, e.validation, e.feedback],
            ),
        }
    }

    /// Records how the step that started as row `n` ended.
    pub(crate) fn step_finished(&mut self, n: u64, end: &StepEnd) -> Result<(), StateError> {
        let id = self.run.row(n, self.store)?;
        Self::run(
            self.store,
            &mut self.end_step,
            END_STEP,
            params![id, end.ok, end.validation, end.feedback],
        )
    }

    /// Puts story `story` on the board's backlog as its story number `n`.
    pub(crate) fn story_known(&mut self, n: u64, story: &str) -> Result<(), StateError> {
        let id = self.run.row(n, self.store)?;
        Self::run(
            self.store,
            &mut self.story,
            INSERT_STORY,
            params![id, story],
        )
    }
}
