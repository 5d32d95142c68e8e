//! A run's status and kind as the state store keeps them: enums stored as their names
//! (the text columns of earlier files read unchanged) and shown the same way.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;
use std::fmt;

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Going on, in a process that is alive.
    Running,
    /// Going on, in a process that is alive, and waiting for a person's approval.
    Waiting,
    /// Ended with every phase done.
    Succeeded,
    /// Ended with a failure (a phase failed, stories were blocked).
    Failed,
    /// Stopped from outside (Ctrl-C, SIGTERM) and recorded as such.
    Interrupted,
    /// Paused by the run itself (a budget spent, an agent's service refusing), to be
    /// resumed.
    Paused,
    /// Recorded as running by a process that is gone (killed, crashed, power lost).
    Crashed,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// `bmad run`: a workflow run.
    Run,
    /// `bmad monitor`: an operations session.
    Monitor,
}

impl RunStatus {
    /// Every status, in the order a run goes through them.
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Interrupted,
        RunStatus::Paused,
        RunStatus::Crashed,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Paused => "paused",
            RunStatus::Crashed => "crashed",
        }
    }

    /// Ended, one way or another (a crashed run ended without saying so).
    pub fn ended(self) -> bool {
        !self.live()
    }

    /// Going on in a live process (running, or waiting for a person).
    pub fn live(self) -> bool {
        matches!(self, RunStatus::Running | RunStatus::Waiting)
    }
}

impl RunKind {
    /// The name stored and shown (`bmad run` / `bmad monitor`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Run => "run",
            RunKind::Monitor => "monitor",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl ToSql for RunStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl ToSql for RunKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// The value of `names` whose name is the stored text.
fn named<T: Copy>(value: ValueRef<'_>, names: &[(&str, T)]) -> FromSqlResult<T> {
    let text = value.as_str()?;
    names
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, v)| *v)
        .ok_or_else(|| FromSqlError::Other(format!("unknown value `{text}`").into()))
}

impl FromSql for RunStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let names = RunStatus::ALL.map(|s| (s.as_str(), s));
        named(value, &names)
    }
}

impl FromSql for RunKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        named(
            value,
            &[("run", RunKind::Run), ("monitor", RunKind::Monitor)],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_kinds_are_stored_and_read_by_name() {
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        for status in RunStatus::ALL {
            let text: String = conn
                .query_row("SELECT ?1", [status], |r| r.get(0))
                .expect("written");
            assert_eq!(text, status.to_string());
            let back: RunStatus = conn
                .query_row("SELECT ?1", [text], |r| r.get(0))
                .expect("read");
            assert_eq!(back, status);
        }
        let kind: RunKind = conn
            .query_row("SELECT 'monitor'", [], |r| r.get(0))
            .expect("read");
        assert_eq!(kind, RunKind::Monitor);
        let unknown = conn.query_row("SELECT 'sleeping'", [], |r| r.get::<_, RunStatus>(0));
        assert!(unknown.is_err());
    }
}
