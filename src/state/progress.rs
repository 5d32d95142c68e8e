//! Reading how a run's work stands: each step as the newest start of its key left it
//! (ended: replayed by a resume; started and never ended: in flight at a crash), and each
//! story's column on the board (the last event that moved it; backlog before any).

// SQLite stores integers as i64: a u64 (numbers of steps and stories) is stored by its
// bits with `as` and read back the same way, a lossless round trip.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use super::progress_page::Start;
use super::{BoardEntry, FinishedStep, RunKey, StateError, Store, StoryStatus};
use std::collections::{BTreeMap, HashMap};

impl Store {
    /// Run `id`'s key, `None` when there is no such run.
    pub(super) fn key_of(&self, id: &str) -> Result<Option<RunKey>, StateError> {
        match self.run_key(id) {
            Ok(k) => Ok(Some(k)),
            Err(StateError::NoRun(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Each step of run `id` that was started, as its newest start stands, in the order
    /// those starts came.
    fn newest_starts(&self, id: &str) -> Result<Vec<Start>, StateError> {
        let Some(run) = self.key_of(id)? else {
            return Ok(Vec::new());
        };
        let rows: Vec<Start> = self.progress(run)?.starts.into_values().collect();
        let mut newest: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            newest.insert(&row.key, i);
        }
        let mut keep = vec![false; rows.len()];
        for i in newest.into_values() {
            keep[i] = true;
        }
        Ok(rows
            .into_iter()
            .zip(keep)
            .filter_map(|(row, kept)| kept.then_some(row))
            .collect())
    }

    /// The steps of a run that ended, in the order of their keys.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn finished_steps(&self, run: &str) -> Result<Vec<FinishedStep>, StateError> {
        let ended: BTreeMap<String, FinishedStep> = self
            .newest_starts(run)?
            .into_iter()
            .filter_map(|row| {
                let end = row.end?;
                Some((
                    row.key.clone(),
                    FinishedStep {
                        key: row.key,
                        ok: end.ok,
                        validation: end.validation,
                        feedback: end.feedback,
                    },
                ))
            })
            .collect();
        Ok(ended.into_values().collect())
    }

    /// The steps of a run that were started and never ended (in flight at a crash), in the
    /// order they started.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn steps_in_flight(&self, run: &str) -> Result<Vec<String>, StateError> {
        Ok(self
            .newest_starts(run)?
            .into_iter()
            .filter(|row| row.end.is_none())
            .map(|row| row.key)
            .collect())
    }

    /// How many starts of steps run `run` recorded: the next start is numbered one more.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read.
    pub fn steps_started(&self, run: RunKey) -> Result<u64, StateError> {
        Ok(self
            .progress(run)?
            .starts
            .last_key_value()
            .map_or(0, |(n, _)| *n))
    }

    /// A run's story board, in the order the stories joined it.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn board(&self, run: &str) -> Result<Vec<BoardEntry>, StateError> {
        let Some(key) = self.key_of(run)? else {
            return Ok(Vec::new());
        };
        Ok(self
            .numbered_board(key)?
            .into_iter()
            .map(|(_, b)| b)
            .collect())
    }

    /// A run's story board with each story's number on it, in that order.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a row is damaged.
    pub fn numbered_board(&self, run: RunKey) -> Result<Vec<(u64, BoardEntry)>, StateError> {
        let mut board: Vec<(u64, BoardEntry)> = self
            .progress(run)?
            .stories
            .into_iter()
            .map(|(n, story)| {
                (
                    n,
                    BoardEntry {
                        story,
                        status: StoryStatus::Backlog,
                        reason: None,
                    },
                )
            })
            .collect();
        let place: HashMap<u64, usize> = board
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (*n, i))
            .collect();
        // The log holds the moves; only a block's reason is read from its event.
        self.each_event(run, 0, |line| {
            let (Some(n), Some(status)) = (line.story, line.moved()) else {
                return Ok(true);
            };
            let Some(entry) = place.get(&n).and_then(|i| board.get_mut(*i)) else {
                return Err(StateError::Corrupt {
                    path: self.path.clone(),
                    message: format!("an event moves story number {n}, which is not on the board"),
                });
            };
            entry.1.status = status;
            entry.1.reason = if status == StoryStatus::Blocked {
                reason_of(line.data.get())
            } else {
                None
            };
            Ok(true)
        })?;
        Ok(board)
    }
}

/// The reason a `story_blocked` event gives (its JSON's `reason`).
fn reason_of(data: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    v.get("reason")?.as_str().map(str::to_string)
}

#[cfg(test)]
pub(super) mod tests {
    use crate::state::{EventRow, NewRun, RunKind, StepEnd, Store, StoryStatus};

    /// A new store with one run in it (also for the other modules' tests).
    pub(in crate::state) fn store_with_run() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("state.db")).unwrap();
        let id = store
            .begin_run(&NewRun {
                workflow: "w.bmad".into(),
                workflow_sha256: String::new(),
                workspace: String::new(),
                simulate: true,
                seed: 1,
                kind: RunKind::Run,
            })
            .unwrap();
        (dir, store, id)
    }

    #[test]
    fn the_newest_start_of_a_step_says_how_it_stands() {
        let (_dir, mut store, id) = store_with_run();
        let run = store.run_key(&id).unwrap();
        // a: failed, then started again and in flight; b: ended well; c: ended well, then
        // started again (a resume of a later attempt) and in flight; d: started only; e:
        // started and ended in one row.
        let end = |ok, validation, feedback: Option<&str>| StepEnd {
            ok,
            validation,
            feedback: feedback.map(str::to_string),
        };
        store.step_started(run, 1, "a", None).unwrap();
        store.step_started(run, 2, "b", None).unwrap();
        store
            .step_finished(run, 1, &end(false, false, Some("no")))
            .unwrap();
        store.step_started(run, 3, "c", None).unwrap();
        store
            .step_finished(run, 2, &end(true, false, None))
            .unwrap();
        store.step_started(run, 4, "a", None).unwrap();
        store
            .step_finished(run, 3, &end(true, true, Some("ok")))
            .unwrap();
        store.step_started(run, 5, "c", None).unwrap();
        store.step_started(run, 6, "d", None).unwrap();
        store
            .step_started(run, 7, "e", Some(&end(true, false, None)))
            .unwrap();
        store.commit().unwrap();
        let ended: Vec<(String, bool)> = store
            .finished_steps(&id)
            .unwrap()
            .into_iter()
            .map(|s| (s.key, s.ok))
            .collect();
        assert_eq!(ended, [("b".to_string(), true), ("e".to_string(), true)]);
        assert_eq!(store.steps_in_flight(&id).unwrap(), ["a", "c", "d"]);
        assert_eq!(store.steps_started(run).unwrap(), 7);
        assert!(store.finished_steps("no-such-run").unwrap().is_empty());
    }

    #[test]
    fn the_board_is_each_story_as_the_last_event_that_moved_it_left_it() {
        let (_dir, mut store, id) = store_with_run();
        let run = store.run_key(&id).unwrap();
        for (n, s) in [(1, "s1"), (2, "s2"), (3, "s3")] {
            store.story_known(run, n, s).unwrap();
        }
        let moves = [
            (1, Some((2, StoryStatus::InProgress)), "{}"),
            (2, None, "{}"),
            (3, Some((1, StoryStatus::InProgress)), "{}"),
            (
                4,
                Some((2, StoryStatus::Blocked)),
                r#"{"event":"story_blocked","story":"s2","reason":"not done after 3 attempts"}"#,
            ),
            (5, Some((1, StoryStatus::Done)), "{}"),
        ];
        for (seq, moved, data) in moves {
            store
                .append_event(
                    run,
                    &EventRow {
                        seq,
                        at_ms: seq,
                        wall_ms: 0,
                        kind: "note",
                        step: None,
                        data,
                        moved,
                    },
                )
                .unwrap();
        }
        store.commit().unwrap();
        let board: Vec<(String, StoryStatus, Option<String>)> = store
            .board(&id)
            .unwrap()
            .into_iter()
            .map(|b| (b.story, b.status, b.reason))
            .collect();
        assert_eq!(
            board,
            [
                ("s1".to_string(), StoryStatus::Done, None),
                (
                    "s2".to_string(),
                    StoryStatus::Blocked,
                    Some("not done after 3 attempts".to_string())
                ),
                ("s3".to_string(), StoryStatus::Backlog, None),
            ]
        );
    }
}
