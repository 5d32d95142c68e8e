//! The words the state store keeps for how things stand: a run's status and kind, a
//! story's place on the board, a step's state. Each is an enum stored as its name (the
//! text columns of earlier files read unchanged; unknown text is a damaged row), shown
//! and serialized the same way.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;
use std::fmt;

/// An enum stored, shown and serialized as one fixed word per value: `ALL`, `as_str`,
/// `named`, `Display`, `ToSql` and `FromSql` (an error for a word it does not know).
macro_rules! words {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($serde:literal) {
            $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = $serde)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order they are declared.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The value whose word is `word`, if any.
            pub fn named(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                known(value, $name::named)
            }
        }
    };
}

/// The value `named` finds for the stored text; an error for text it does not know.
fn known<T>(value: ValueRef<'_>, named: fn(&str) -> Option<T>) -> FromSqlResult<T> {
    let text = value.as_str()?;
    named(text).ok_or_else(|| FromSqlError::Other(format!("unknown value `{text}`").into()))
}

words! {
    /// How a run stands.
    pub enum RunStatus ("lowercase") {
        /// Going on, in a process that is alive.
        Running => "running",
        /// Going on, in a process that is alive, and waiting for a person's approval.
        Waiting => "waiting",
        /// Ended with every phase done.
        Succeeded => "succeeded",
        /// Ended with a failure (a phase failed, stories were blocked).
        Failed => "failed",
        /// Stopped from outside (Ctrl-C, SIGTERM) and recorded as such.
        Interrupted => "interrupted",
        /// Paused by the run itself (a budget spent, an agent's service refusing), to be
        /// resumed.
        Paused => "paused",
        /// Recorded as running by a process that is gone (killed, crashed, power lost).
        Crashed => "crashed",
    }
}

words! {
    /// What started a run.
    pub enum RunKind ("lowercase") {
        /// `bmad run`: a workflow run.
        Run => "run",
        /// `bmad monitor`: an operations session.
        Monitor => "monitor",
    }
}

words! {
    /// A story's place on the board: its column, in the order work moves through them.
    pub enum StoryStatus ("snake_case") {
        /// Known to the run, not started.
        Backlog => "backlog",
        /// A task of the story is at work.
        InProgress => "in_progress",
        /// Its work is being validated.
        Review => "review",
        /// Done: every step of it passed.
        Done => "done",
        /// Given up on (its reason is kept beside it).
        Blocked => "blocked",
    }
}

words! {
    /// Where a step of a run stands: a resume skips the steps that ended.
    pub enum StepStatus ("lowercase") {
        /// Started and not ended (in flight, or cut off by a crash).
        Running => "running",
        /// Ended, and succeeded (a validation: approved).
        Done => "done",
        /// Ended, and failed (a validation: rejected).
        Failed => "failed",
    }
}

impl RunStatus {
    /// Ended, one way or another (a crashed run ended without saying so).
    pub fn ended(self) -> bool {
        !self.live()
    }

    /// Going on in a live process (running, or waiting for a person).
    pub fn live(self) -> bool {
        matches!(self, RunStatus::Running | RunStatus::Waiting)
    }
}

impl StoryStatus {
    /// The column's heading for people (`in progress`).
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

impl StepStatus {
    /// How a step that ended is recorded: done when it succeeded, failed when not.
    pub fn ended(ok: bool) -> StepStatus {
        if ok {
            StepStatus::Done
        } else {
            StepStatus::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each value is stored as its word, read back from it, and serialized as it.
    fn round_trip<T>(all: &[T])
    where
        T: Copy + fmt::Display + fmt::Debug + PartialEq + ToSql + FromSql + Serialize,
    {
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        for value in all {
            let text: String = conn
                .query_row("SELECT ?1", [value], |r| r.get(0))
                .expect("written");
            assert_eq!(text, value.to_string());
            let back: T = conn
                .query_row("SELECT ?1", [&text], |r| r.get(0))
                .expect("read");
            assert_eq!(back, *value);
            let json = serde_json::to_string(value).expect("serialized");
            assert_eq!(json, format!("\"{text}\""));
        }
        let unknown = conn.query_row("SELECT 'sleeping'", [], |r| r.get::<_, T>(0));
        assert!(unknown.is_err());
    }

    #[test]
    fn statuses_and_kinds_are_stored_read_and_serialized_by_name() {
        round_trip(RunStatus::ALL);
        round_trip(RunKind::ALL);
        round_trip(StoryStatus::ALL);
        round_trip(StepStatus::ALL);
    }

    #[test]
    fn the_words_are_those_of_earlier_state_files() {
        let words = |all: &[StoryStatus]| all.iter().map(|s| s.as_str()).collect::<Vec<_>>();
        assert_eq!(
            words(StoryStatus::ALL),
            ["backlog", "in_progress", "review", "done", "blocked"]
        );
        assert_eq!(
            StepStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            ["running", "done", "failed"]
        );
        assert_eq!(
            RunStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            [
                "running",
                "waiting",
                "succeeded",
                "failed",
                "interrupted",
                "paused",
                "crashed"
            ]
        );
        assert_eq!(StoryStatus::InProgress.label(), "in progress");
    }
}
