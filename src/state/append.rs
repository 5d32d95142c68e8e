//! The rows a run writes for each task (its log's pages, steps and stories), written through
//! statements taken from the connection's cache once and held while a batch of records is
//! written: a record costs its bindings and its step, not a lookup of its statement by
//! its text (hashing the SQL, taking the statement out of the cache and putting it back,
//! clearing its bindings), which was a fifth of the writer thread's time (issue 21).

// SQLite stores integers as i64: a u64 (milliseconds, sequence numbers) is stored by its
// bits with `as` and read back the same way, a lossless round trip.
#![allow(clippy::cast_possible_wrap)]

use super::{RunKey, StateError, Store};
use rusqlite::{CachedStatement, params};

/// A page of the log: the events of one commit, a line each ([`super::log_page`]).
const INSERT_PAGE: &str = "INSERT INTO log (id, events) VALUES (?1, ?2)";

/// A page of the run's progress: the step and story records of one commit, a line each
/// ([`super::progress_page`]).
const INSERT_PROGRESS: &str = "INSERT INTO progress (run, records) VALUES (?1, ?2)";

/// Writes a run's events, steps and stories in the store's open transaction, each kind
/// through one statement prepared (or taken from the cache) at its first use and held
/// until the appender goes.
pub(crate) struct Appender<'s> {
    store: &'s Store,
    run: RunKey,
    page: Option<CachedStatement<'s>>,
    /// The progress records of this commit, a line each, written by [`Appender::finish`].
    progress: String,
}

impl<'s> Appender<'s> {
    /// An appender for run `run`, with a write transaction open in `store` for as long as
    /// it lives (nothing else can commit it meanwhile: the store is borrowed).
    pub(crate) fn new(store: &'s mut Store, run: RunKey) -> Result<Appender<'s>, StateError> {
        store.begin()?;
        Ok(Appender {
            store,
            run,
            page: None,
            progress: String::new(),
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

    /// Appends a page to the run's log: `lines`, the events up to number `last` after the
    /// page before, a line each ([`super::log_page`]).
    pub(crate) fn log_page(&mut self, last: u64, lines: &str) -> Result<(), StateError> {
        let id = self.run.row(last, self.store)?;
        Self::run(
            self.store,
            &mut self.page,
            INSERT_PAGE,
            params![id, super::log_page::stored(lines)],
        )
    }

    /// Adds progress records already written as lines (see [`super::progress_page`]).
    pub(crate) fn progress_lines(&mut self, lines: String) {
        if self.progress.is_empty() {
            self.progress = lines;
        } else if !lines.is_empty() {
            self.progress.push('\n');
            self.progress.push_str(&lines);
        }
    }

    /// Writes the progress records as one page (none when there are none).
    pub(crate) fn finish(self) -> Result<(), StateError> {
        if self.progress.is_empty() {
            return Ok(());
        }
        let mut page = None;
        Self::run(
            self.store,
            &mut page,
            INSERT_PROGRESS,
            params![self.run.0, super::log_page::stored(&self.progress)],
        )
    }
}
