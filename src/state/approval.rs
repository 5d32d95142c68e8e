//! Approvals a run waits for: asked by the run (a manual gate, an `approve` step), answered
//! from another process (`bmad approve RUN TARGET`), read back by the run while it waits.
//! While any is unanswered the run's status is `waiting`.

// SQLite stores integers as i64: attempts are small and milliseconds fit.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use super::{RunStatus, StateError, Store, now_ms};
use rusqlite::{OptionalExtension, params};

/// A person's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Approved (or rejected).
    pub approved: bool,
    /// Why, for a rejection (or a note with an approval).
    pub reason: Option<String>,
    /// Who answered.
    pub by: Option<String>,
}

/// An approval a run asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// What is approved: an environment, or an `approve` step's name (`review@s1` inside
    /// a story).
    pub target: String,
    /// The attempt it was asked for (a rejection asks again at the next attempt).
    pub attempt: u64,
    /// What the person is asked.
    pub prompt: Option<String>,
    /// Who may answer, comma-separated (anyone when empty).
    pub who: Option<String>,
    /// When it was asked, in Unix milliseconds.
    pub asked_ms: i64,
    /// The answer, once given.
    pub answer: Option<Answer>,
    /// When it was answered, in Unix milliseconds.
    pub answered_ms: Option<i64>,
}

/// Why an answer was not recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerRefused {
    /// The store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The run waits for no approval of that name.
    #[error("run {run} waits for no approval `{target}`{}", waiting_list(.waiting))]
    NotAsked {
        /// The run.
        run: String,
        /// The name given.
        target: String,
        /// What it does wait for.
        waiting: Vec<String>,
    },
    /// It was answered already.
    #[error("`{target}` of run {run} is already {}", if *.approved { "approved" } else { "rejected" })]
    Answered {
        /// The run.
        run: String,
        /// The approval.
        target: String,
        /// How.
        approved: bool,
    },
    /// The person answering is not among those who may.
    #[error("`{target}` may be approved by {who}, not by {by}")]
    NotAllowed {
        /// The approval.
        target: String,
        /// Who may.
        who: String,
        /// Who tried.
        by: String,
    },
}

fn waiting_list(waiting: &[String]) -> String {
    if waiting.is_empty() {
        " (it waits for none)".into()
    } else {
        format!(" (it waits for: {})", waiting.join(", "))
    }
}

fn approval(r: &rusqlite::Row) -> rusqlite::Result<Approval> {
    let approved: Option<bool> = r.get("approved")?;
    Ok(Approval {
        target: r.get("target")?,
        attempt: r.get::<_, i64>("attempt")? as u64,
        prompt: r.get("prompt")?,
        who: r.get("who")?,
        asked_ms: r.get("asked_ms")?,
        answered_ms: r.get("answered_ms")?,
        answer: match approved {
            Some(approved) => Some(Answer {
                approved,
                reason: r.get("reason")?,
                by: r.get("answered_by")?,
            }),
            None => None,
        },
    })
}

const COLUMNS: &str =
    "target, attempt, prompt, who, asked_ms, approved, reason, answered_by, answered_ms";

impl Store {
    /// Asks for an approval of `target` at `attempt`, and marks the run `waiting`. An
    /// approval asked before at the same attempt keeps its answer (a resumed run); at a
    /// later attempt it is asked afresh.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be written.
    pub fn ask_approval(
        &mut self,
        run: &str,
        target: &str,
        attempt: u64,
        prompt: Option<&str>,
        who: Option<&str>,
    ) -> Result<(), StateError> {
        self.begin()?;
        let sql = "INSERT INTO approvals (run_id, target, attempt, prompt, who, asked_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (run_id, target) DO UPDATE SET attempt = ?3, prompt = ?4, who = ?5, \
             asked_ms = ?6, approved = NULL, reason = NULL, answered_by = NULL, \
             answered_ms = NULL WHERE attempt < ?3";
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.execute(params![run, target, attempt as i64, prompt, who, now_ms()])
            })
            .map_err(|e| self.err(e))?;
        self.mark_waiting(run)?;
        self.commit_durable()
    }

    /// The run's status as its approvals say: `waiting` while one is unanswered.
    fn mark_waiting(&mut self, run: &str) -> Result<(), StateError> {
        self.conn
            .prepare_cached(
                "UPDATE runs SET status = CASE WHEN EXISTS (SELECT 1 FROM approvals a \
                 WHERE a.run_id = ?1 AND a.approved IS NULL) THEN ?2 ELSE ?3 END \
                 WHERE id = ?1 AND status IN (?3, ?2)",
            )
            .and_then(|mut s| s.execute(params![run, RunStatus::Waiting, RunStatus::Running]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The approval of `target` in `run`, if it was asked.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read.
    pub fn approval(&self, run: &str, target: &str) -> Result<Option<Approval>, StateError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM approvals WHERE run_id = ?1 AND target = ?2"
            ))
            .and_then(|mut s| s.query_row(params![run, target], approval).optional())
            .map_err(|e| self.err(e))
    }

    /// Every approval `run` asked for, in the order asked.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read.
    pub fn approvals(&self, run: &str) -> Result<Vec<Approval>, StateError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM approvals WHERE run_id = ?1 ORDER BY asked_ms, target"
            ))
            .and_then(|mut s| {
                s.query_map(params![run], approval)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.err(e))
    }

    /// Answers the approval of `target` that `run` waits for, as `by`.
    ///
    /// # Errors
    ///
    /// [`AnswerRefused`] when the run waits for no such approval, it is answered already,
    /// `by` is not among who may answer, or the store fails.
    pub fn answer_approval(
        &mut self,
        run: &str,
        target: &str,
        answer: &Answer,
    ) -> Result<(), AnswerRefused> {
        let Some(asked) = self.approval(run, target)? else {
            let waiting = self
                .approvals(run)?
                .into_iter()
                .filter(|a| a.answer.is_none())
                .map(|a| a.target)
                .collect();
            return Err(AnswerRefused::NotAsked {
                run: run.into(),
                target: target.into(),
                waiting,
            });
        };
        if let Some(a) = &asked.answer {
            return Err(AnswerRefused::Answered {
                run: run.into(),
                target: target.into(),
                approved: a.approved,
            });
        }
        if let Some(who) = asked.who.as_deref().filter(|w| !w.is_empty()) {
            let by = answer.by.clone().unwrap_or_default();
            if !who.split(',').any(|w| w.trim() == by) {
                return Err(AnswerRefused::NotAllowed {
                    target: target.into(),
                    who: who.replace(',', ", "),
                    by,
                });
            }
        }
        self.begin()?;
        self.conn
            .prepare_cached(
                "UPDATE approvals SET approved = ?3, reason = ?4, answered_by = ?5, \
                 answered_ms = ?6 WHERE run_id = ?1 AND target = ?2 AND approved IS NULL",
            )
            .and_then(|mut s| {
                s.execute(params![
                    run,
                    target,
                    answer.approved,
                    answer.reason,
                    answer.by,
                    now_ms()
                ])
            })
            .map_err(|e| self.err(e))?;
        self.mark_waiting(run)?;
        Ok(self.commit_durable()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_is_asked_answered_once_by_who_may_and_asked_again_after_a_rejection() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let run = store
            .begin_run(&crate::state::NewRun {
                workflow: "w".into(),
                workflow_sha256: String::new(),
                workspace: String::new(),
                simulate: false,
                seed: 0,
                kind: crate::state::RunKind::Run,
            })
            .unwrap();
        store
            .ask_approval(&run, "prod", 1, Some("Ship it?"), Some("alice,bob"))
            .unwrap();
        assert_eq!(
            store.run(&run).unwrap().status,
            crate::state::RunStatus::Waiting
        );
        let no = store
            .answer_approval(
                &run,
                "prd",
                &Answer {
                    approved: true,
                    reason: None,
                    by: Some("alice".into()),
                },
            )
            .unwrap_err();
        assert_eq!(
            no.to_string(),
            format!("run {run} waits for no approval `prd` (it waits for: prod)")
        );
        let carol = Answer {
            approved: true,
            reason: None,
            by: Some("carol".into()),
        };
        assert_eq!(
            store
                .answer_approval(&run, "prod", &carol)
                .unwrap_err()
                .to_string(),
            "`prod` may be approved by alice, bob, not by carol"
        );
        let reject = Answer {
            approved: false,
            reason: Some("not on a Friday".into()),
            by: Some("bob".into()),
        };
        store.answer_approval(&run, "prod", &reject).unwrap();
        assert_eq!(
            store.run(&run).unwrap().status,
            crate::state::RunStatus::Running
        );
        assert_eq!(
            store.approval(&run, "prod").unwrap().unwrap().answer,
            Some(reject.clone())
        );
        // The same attempt again (a resume) keeps the answer; the next asks afresh.
        store.ask_approval(&run, "prod", 1, None, None).unwrap();
        assert_eq!(
            store.approval(&run, "prod").unwrap().unwrap().answer,
            Some(reject)
        );
        store.ask_approval(&run, "prod", 2, None, None).unwrap();
        assert_eq!(store.approval(&run, "prod").unwrap().unwrap().answer, None);
    }
}
