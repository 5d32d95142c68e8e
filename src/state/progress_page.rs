//! A run's progress is kept in pages too (schema 8, issue 21): one row of the `progress`
//! table holds the step and story records one commit brought, one JSON object a line: a
//! step's start (`{"start":n,"key":…}`, with its end when it ended in the same commit), a
//! step's end (`{"end":n,"ok":…,"validation":…,"feedback":…}`), a story joining the board
//! (`{"story":n,"name":…}`). What a resume reads (how each step stands, the board's
//! stories) is these records folded in order. A page is stored as the log's are (text, or
//! compressed when long). This file writes the lines and folds them.

// SQLite stores integers as i64: run keys are stored by their bits with `as`.
#![allow(clippy::cast_possible_wrap)]

use super::log_page::{lines_of, push_json_string};
use super::{RunKey, StateError, StepEnd, Store};
use rusqlite::params;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Appends the start `n` of step `key` (with `ended`, how it ended too) to `page`.
pub(super) fn push_start(page: &mut String, n: u64, key: &str, ended: Option<&StepEnd>) {
    next_line(page);
    page.push_str("{\"start\":");
    page.push_str(itoa::Buffer::new().format(n));
    page.push_str(",\"key\":");
    push_json_string(page, key);
    if let Some(end) = ended {
        push_end_fields(page, end);
    }
    page.push('}');
}

/// Appends how the step that started as `n` ended to `page`.
pub(super) fn push_end(page: &mut String, n: u64, end: &StepEnd) {
    next_line(page);
    page.push_str("{\"end\":");
    page.push_str(itoa::Buffer::new().format(n));
    push_end_fields(page, end);
    page.push('}');
}

/// Appends story `name`, number `n` on the board, to `page`.
pub(super) fn push_story(page: &mut String, n: u64, name: &str) {
    next_line(page);
    page.push_str("{\"story\":");
    page.push_str(itoa::Buffer::new().format(n));
    page.push_str(",\"name\":");
    push_json_string(page, name);
    page.push('}');
}

/// Starts a new line, unless `page` is empty.
fn next_line(page: &mut String) {
    if !page.is_empty() {
        page.push('\n');
    }
}

fn push_end_fields(page: &mut String, end: &StepEnd) {
    page.push_str(if end.ok {
        ",\"ok\":true"
    } else {
        ",\"ok\":false"
    });
    page.push_str(if end.validation {
        ",\"validation\":true"
    } else {
        ",\"validation\":false"
    });
    if let Some(feedback) = &end.feedback {
        page.push_str(",\"feedback\":");
        push_json_string(page, feedback);
    }
}

/// One line of a progress page, read back.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(default)]
    start: Option<u64>,
    #[serde(default)]
    end: Option<u64>,
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default)]
    validation: Option<bool>,
    #[serde(borrow, default)]
    feedback: Option<Cow<'a, str>>,
    #[serde(default)]
    story: Option<u64>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// One start of a step, as the records that follow it left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Start {
    /// The step's key.
    pub(super) key: String,
    /// How it ended; `None` while it runs (or when a crash cut it).
    pub(super) end: Option<StepEnd>,
}

/// A run's progress: every start of its steps and the board's stories, by their numbers.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Each start of a step, by its number.
    pub(super) starts: BTreeMap<u64, Start>,
    /// Each story on the board, by its number there.
    pub(super) stories: BTreeMap<u64, String>,
}

impl Store {
    /// Run `run`'s progress, its pages folded in order.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or a line is damaged.
    pub(super) fn progress(&self, run: RunKey) -> Result<Progress, StateError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT records FROM progress WHERE run = ?1 ORDER BY page")
            .map_err(|e| self.err(e))?;
        let mut rows = statement.query(params![run.0]).map_err(|e| self.err(e))?;
        let mut progress = Progress::default();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let value = row.get_ref(0).map_err(|e| self.err(e))?;
            let page = lines_of(value).map_err(|e| self.damaged_page(&e))?;
            for text in page.split('\n') {
                let line: Line = serde_json::from_str(text).map_err(|e| self.damaged_page(&e))?;
                self.fold(&mut progress, &line)?;
            }
        }
        Ok(progress)
    }

    /// Folds one record into `progress`.
    fn fold(&self, progress: &mut Progress, line: &Line) -> Result<(), StateError> {
        let end = |ok: Option<bool>| {
            ok.map(|ok| StepEnd {
                ok,
                validation: line.validation.unwrap_or(false),
                feedback: line.feedback.as_deref().map(str::to_string),
            })
        };
        match (line.start, line.end, line.story) {
            (Some(n), None, None) => {
                let key = line.key.as_deref().unwrap_or_default().to_string();
                let end = end(line.ok);
                progress.starts.insert(n, Start { key, end });
            }
            (None, Some(n), None) => {
                let Some(start) = progress.starts.get_mut(&n) else {
                    return Err(self.damaged_page(&format!("step start {n} ends, never started")));
                };
                start.end = end(line.ok);
            }
            (None, None, Some(n)) => {
                let name = line.name.as_deref().unwrap_or_default().to_string();
                progress.stories.insert(n, name);
            }
            _ => return Err(self.damaged_page(&"a line that is no record")),
        }
        Ok(())
    }

    /// The error for a progress line that cannot be read.
    fn damaged_page(&self, why: &dyn std::fmt::Display) -> StateError {
        StateError::Corrupt {
            path: self.path.clone(),
            message: format!("a damaged page of the progress: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Line, push_end, push_start, push_story};
    use crate::state::StepEnd;

    #[test]
    fn records_read_back_as_they_were_written() {
        let end = StepEnd {
            ok: false,
            validation: true,
            feedback: Some("said \"no\"\n".into()),
        };
        let mut page = String::new();
        push_story(&mut page, 1, "s \"1\"");
        push_start(&mut page, 1, "dev/0/s1/0", None);
        push_start(&mut page, 2, "qa/0", Some(&end));
        push_end(&mut page, 1, &end);
        let lines: Vec<Line> = page
            .split('\n')
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{page}");
        assert_eq!(
            (lines[0].story, lines[0].name.as_deref()),
            (Some(1), Some("s \"1\""))
        );
        assert_eq!((lines[1].start, lines[1].ok), (Some(1), None));
        assert_eq!(lines[2].feedback.as_deref(), Some("said \"no\"\n"));
        assert_eq!(
            (lines[3].end, lines[3].ok, lines[3].validation),
            (Some(1), Some(false), Some(true))
        );
    }
}
