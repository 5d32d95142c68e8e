//! Reading the store for a viewer (`bmad serve`): opened read-only, never migrated or
//! created; a run's log from a place on, with the story each event moves named; every
//! start of a run's steps.

// SQLite stores integers as i64: a u64 (sequence numbers) is stored by its bits with `as`
// and read back the same way, a lossless round trip.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use super::{StateError, Store, StoryStatus, schema};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use std::path::Path;

/// One event of a run's log as a viewer shows it: with the board move it makes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
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
    /// The story it moves on the board, if it moves one.
    pub story: Option<String>,
    /// The column it moves that story to.
    pub moved: Option<StoryStatus>,
    /// The event as JSON text.
    pub data: String,
}

/// One start of a step, as its row stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStart {
    /// The step's place in the workflow.
    pub key: String,
    /// Whether it succeeded; `None` while it runs (or when it was cut by a crash).
    pub ok: Option<bool>,
    /// Whether it is a QA validation.
    pub validation: bool,
    /// Feedback or failure reason.
    pub feedback: Option<String>,
}

impl Store {
    /// Opens the state database at `path` to read only: nothing is created, migrated or
    /// written; a file that is missing, another program's, damaged, or of another schema
    /// version is an error.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the file cannot be opened, is not a bmad state database of
    /// this version, or is damaged.
    pub fn open_read_only(path: &Path) -> Result<Store, StateError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StateError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            in_tx: false,
        };
        store
            .conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| store.err(e))?;
        store.ours()?;
        let known = i64::try_from(schema::MIGRATIONS.len()).unwrap_or(i64::MAX);
        match store.version()? {
            v if v == known => Ok(store),
            v if v > known => Err(StateError::TooNew {
                path: path.to_path_buf(),
                found: v,
                known,
            }),
            v => Err(StateError::Io(format!(
                "`{}` has schema version {v}, older than this bmad's ({known}): any other \
                 bmad command on it brings it up to date",
                path.display()
            ))),
        }
    }

    /// Up to `limit` events of run `id`'s log after `after` (0: from the start), in order.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn log_after(&self, id: &str, after: u64, limit: u64) -> Result<Vec<LogEntry>, StateError> {
        let run = self.run_key(id)?;
        // The board's stories, read when an event moves one.
        let mut names: Option<std::collections::BTreeMap<u64, String>> = None;
        let mut entries = Vec::new();
        self.each_event(run, after, |line| {
            if entries.len() as u64 >= limit {
                return Ok(false);
            }
            let story = match line.story {
                Some(n) => {
                    if names.is_none() {
                        names = Some(self.progress(run)?.stories);
                    }
                    names.as_ref().and_then(|names| names.get(&n).cloned())
                }
                None => None,
            };
            entries.push(LogEntry {
                seq: line.seq,
                at_ms: line.at_ms,
                wall_ms: line.wall_ms,
                moved: line.moved(),
                kind: line.kind.into_owned(),
                step: line.step.map(std::borrow::Cow::into_owned),
                story,
                data: line.data.get().to_string(),
            });
            Ok((entries.len() as u64) < limit)
        })?;
        Ok(entries)
    }

    /// What run `id`'s tasks cost, added up from what their CLIs reported; `None` when no
    /// task reported a cost.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read.
    pub fn spend(&self, id: &str) -> Result<Option<f64>, StateError> {
        /// The part of a `task_finished` event that holds its cost.
        #[derive(serde::Deserialize)]
        struct Finished {
            result: Option<Ran>,
        }
        #[derive(serde::Deserialize)]
        struct Ran {
            usage: Option<Usage>,
        }
        #[derive(serde::Deserialize)]
        struct Usage {
            cost_usd: Option<f64>,
        }
        let mut spent: Option<f64> = None;
        self.each_event(self.run_key(id)?, 0, |line| {
            if line.kind == "task_finished"
                && let Ok(Finished {
                    result:
                        Some(Ran {
                            usage:
                                Some(Usage {
                                    cost_usd: Some(cost),
                                }),
                        }),
                }) = serde_json::from_str(line.data.get())
            {
                *spent.get_or_insert(0.0) += cost;
            }
            Ok(true)
        })?;
        Ok(spent)
    }

    /// Every start of run `id`'s steps, in the order they started.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn step_starts(&self, id: &str) -> Result<Vec<StepStart>, StateError> {
        Ok(self
            .progress(self.run_key(id)?)?
            .starts
            .into_values()
            .map(|start| StepStart {
                key: start.key,
                ok: start.end.as_ref().map(|e| e.ok),
                validation: start.end.as_ref().is_some_and(|e| e.validation),
                feedback: start.end.and_then(|e| e.feedback),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::state::{StateError, Store, TranscriptRow};

    #[test]
    fn a_missing_file_is_not_created_by_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        assert!(matches!(
            Store::open_read_only(&path),
            Err(StateError::Open { .. })
        ));
        assert!(!path.exists());
        Store::open(&path).unwrap();
        let store = Store::open_read_only(&path).unwrap();
        assert!(store.runs().unwrap().is_empty());
        assert!(matches!(
            store.log_after("nope", 0, 10),
            Err(StateError::NoRun(_))
        ));
    }

    #[test]
    fn the_transcripts_of_a_step_are_found_by_its_place_underscores_and_all() {
        let (_dir, mut store, id) = crate::state::progress::tests::store_with_run();
        for (seq, step) in [(1, "sprint_planning/0"), (2, "sprintxplanning/0")] {
            let row = TranscriptRow {
                seq,
                step: step.into(),
                agent: "sm".into(),
                tasks: "plan".into(),
                story: None,
                attempt: 1,
                ok: true,
                stdout: "planned".into(),
                stderr: String::new(),
                wall_ms: 0,
                prompt: Some(format!("plan {step}")),
            };
            let run = store.run_key(&id).unwrap();
            store.transcript(run, &row).unwrap();
        }
        let found = store
            .transcripts(&id, Some("sprint_planning/0"), 0)
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].step, "sprint_planning/0");
        assert_eq!(found[0].prompt.as_deref(), Some("plan sprint_planning/0"));
    }
}
