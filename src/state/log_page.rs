//! A run's event log is kept in pages (schema 8, issue 21): one row of the `log` table holds
//! the events one commit brought, one JSON object a line, keyed by the run's key and the
//! number of its last event. A task's three events cost a line each, not a row each (a
//! row costs its bindings, its record and its place in the tree, some 4,000 instructions;
//! a line costs its text). A page of more than 1 KiB (a simulation's batch) is stored
//! compressed, as a BLOB (lz4, its length first): its JSON lines shrink some 9x, and with
//! them the bytes `SQLite` writes to the WAL and then to the file; a smaller page (a real
//! run's commit) is stored as text, readable with any `SQLite` tool. This file writes a
//! page's lines, stores a page and reads them back.

// SQLite stores integers as i64: a u64 (sequence numbers) is stored by its bits with `as`
// and read back the same way, a lossless round trip.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use super::{EventRow, RunKey, StateError, Store, StoryStatus};
use rusqlite::params;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt::Write;

/// The longest page stored as text; a longer one is stored compressed.
const TEXT_AT_MOST: usize = 1024;

/// The most a stored page may grow when decompressed (lz4's greatest ratio, some 255x): a
/// damaged length is refused, not allocated.
const MOST_GROWTH: usize = 256;

/// How a page whose lines are `text` is stored: as text, or compressed when long.
pub(super) fn stored(text: &str) -> ToSqlOutput<'_> {
    if text.len() <= TEXT_AT_MOST {
        ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))
    } else {
        ToSqlOutput::Owned(Value::Blob(lz4_flex::block::compress_prepend_size(
            text.as_bytes(),
        )))
    }
}

/// The lines of a stored page, or why it cannot be read.
pub(super) fn lines_of(value: ValueRef<'_>) -> Result<Cow<'_, str>, String> {
    match value {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(Cow::Borrowed)
            .map_err(|e| e.to_string()),
        ValueRef::Blob(b) => {
            let said = b
                .first_chunk::<4>()
                .map_or(usize::MAX, |n| u32::from_le_bytes(*n) as usize);
            if said > b.len().saturating_mul(MOST_GROWTH) {
                return Err(format!("a compressed page claims {said} bytes"));
            }
            let bytes = lz4_flex::block::decompress_size_prepended(b).map_err(|e| e.to_string())?;
            String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|e| e.to_string())
        }
        _ => Err("a page that is neither text nor compressed".into()),
    }
}

/// One event of a page, read back: the text it borrows is the page's.
#[derive(Debug, Deserialize)]
pub(super) struct Line<'a> {
    /// Its place in the run's log, from 1.
    pub(super) seq: u64,
    /// Milliseconds since the run started.
    pub(super) at_ms: u64,
    /// Wall-clock time it happened, in Unix milliseconds.
    pub(super) wall_ms: i64,
    /// The event's name.
    #[serde(borrow)]
    pub(super) kind: Cow<'a, str>,
    /// The step it belongs to.
    #[serde(borrow, default)]
    pub(super) step: Option<Cow<'a, str>>,
    /// The story it moves on the board (its number there).
    #[serde(default)]
    pub(super) story: Option<u64>,
    /// The column it moves that story to.
    #[serde(borrow, default)]
    moved: Option<Cow<'a, str>>,
    /// The event as JSON.
    #[serde(borrow)]
    pub(super) data: &'a RawValue,
}

impl Line<'_> {
    /// The column the event moves its story to, if it moves one (`None` for a word this
    /// bmad does not know: the line is read as damaged by [`Store::each_event`]).
    pub(super) fn moved(&self) -> Option<StoryStatus> {
        self.moved.as_deref().and_then(StoryStatus::named)
    }
}

/// Appends event `e` to `page` as its last line.
pub(super) fn push_line(page: &mut String, e: &EventRow) {
    if !page.is_empty() {
        page.push('\n');
    }
    push_line_head(page, e);
    page.push_str(e.data);
    page.push('}');
}

/// Appends the line of event `e` up to its data (`e.data` is not read): what follows is
/// the event's JSON and a closing `}`. The journal writes a line this way with the JSON
/// made in place, on the scheduler's thread; the writer only joins the lines.
pub(crate) fn push_line_head(page: &mut String, e: &EventRow) {
    let mut digits = itoa::Buffer::new();
    page.push_str("{\"seq\":");
    page.push_str(digits.format(e.seq));
    page.push_str(",\"at_ms\":");
    page.push_str(digits.format(e.at_ms));
    page.push_str(",\"wall_ms\":");
    page.push_str(digits.format(e.wall_ms));
    page.push_str(",\"kind\":");
    push_json_string(page, e.kind);
    if let Some(step) = e.step {
        page.push_str(",\"step\":");
        push_json_string(page, step);
    }
    if let Some((n, status)) = e.moved {
        page.push_str(",\"story\":");
        page.push_str(digits.format(n));
        page.push_str(",\"moved\":\"");
        page.push_str(status.as_str());
        page.push('"');
    }
    page.push_str(",\"data\":");
}

/// Appends `s` to `out` as a JSON string, escaped as `serde_json` escapes it (`"`, `\`
/// and control characters; so a line never holds a raw newline, and the text is the one
/// `serde_json::to_string` makes).
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let plain = |b: &u8| *b >= 0x20 && *b != b'"' && *b != b'\\';
    if s.as_bytes().iter().all(plain) {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

impl Store {
    /// Calls `f` on each event of run `run`'s log after the first `after` (0: from the
    /// start), in order, until it answers false.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read, a line is damaged, or `f` fails.
    pub(super) fn each_event(
        &self,
        run: RunKey,
        after: u64,
        mut f: impl FnMut(Line) -> Result<bool, StateError>,
    ) -> Result<(), StateError> {
        let (_, last) = run.span();
        let mut statement = self
            .conn
            .prepare_cached("SELECT events FROM log WHERE id > ?1 AND id <= ?2 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let mut rows = statement
            .query(params![run.after(after), last])
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let value = row.get_ref(0).map_err(|e| self.err(e))?;
            let page = lines_of(value).map_err(|e| self.damaged(&e))?;
            for text in page.split('\n') {
                let line: Line = serde_json::from_str(text).map_err(|e| self.damaged(&e))?;
                if line.moved.is_some() && line.moved().is_none() {
                    return Err(self.damaged(&format!("unknown column `{:?}`", line.moved)));
                }
                if line.seq <= after {
                    continue;
                }
                if !f(line)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The error for a line of the log that cannot be read.
    fn damaged(&self, why: &dyn std::fmt::Display) -> StateError {
        StateError::Corrupt {
            path: self.path.clone(),
            message: format!("a damaged page of the log: {why}"),
        }
    }

    /// The last sequence number and event time of run `run`'s log (0, 0 when empty).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database cannot be read or its last page is damaged.
    pub(super) fn last_line(&self, run: RunKey) -> Result<(u64, u64), StateError> {
        use rusqlite::OptionalExtension;
        let (first, last) = run.span();
        let page: Option<Value> = self
            .conn
            .prepare_cached(
                "SELECT events FROM log WHERE id > ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut s| s.query_row(params![first, last], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        let Some(page) = page else {
            return Ok((0, 0));
        };
        let page = lines_of(ValueRef::from(&page)).map_err(|e| self.damaged(&e))?;
        let text = page.rsplit('\n').next().unwrap_or_default();
        let line: Line = serde_json::from_str(text).map_err(|e| self.damaged(&e))?;
        Ok((line.seq, line.at_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::{Line, lines_of, push_line, stored};
    use rusqlite::types::{ToSqlOutput, Value, ValueRef};

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u8..0x80)
            .map(char::from)
            .chain("é\u{2028}😀".chars())
            .collect();
        for s in [all.as_str(), "", "plain", "a\"b\\c"] {
            let mut out = String::new();
            super::push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn a_character_to_escape_is_found_wherever_it_stands() {
        // Every byte value below 0x80 and a few wide characters, at each place of strings
        // of up to 19 bytes.
        let odd: Vec<char> = (0u8..0x80)
            .map(char::from)
            .chain(['é', '\u{7f}', '😀'])
            .collect();
        for len in 0..20 {
            for at in 0..len {
                for &c in &odd {
                    let s: String = (0..len).map(|i| if i == at { c } else { 'a' }).collect();
                    let mut out = String::new();
                    super::push_json_string(&mut out, &s);
                    assert_eq!(out, serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn a_long_page_is_stored_compressed_a_short_one_as_text_both_read_back() {
        let short = "{\"seq\":1}";
        assert!(matches!(
            stored(short),
            ToSqlOutput::Borrowed(ValueRef::Text(_))
        ));
        let long = vec![r#"{"seq":1,"kind":"task_started"}"#; 100].join("\n");
        let ToSqlOutput::Owned(Value::Blob(blob)) = stored(&long) else {
            panic!("a long page is compressed");
        };
        assert!(blob.len() * 4 < long.len(), "{} bytes", blob.len());
        assert_eq!(lines_of(ValueRef::Blob(&blob)).unwrap(), long);
        assert_eq!(lines_of(ValueRef::Text(short.as_bytes())).unwrap(), short);
        // A damaged page: a length it cannot have, bytes that are not lz4, not a page.
        let mut claims = blob.clone();
        claims[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            lines_of(ValueRef::Blob(&claims))
                .unwrap_err()
                .contains("claims")
        );
        assert!(lines_of(ValueRef::Blob(&[9, 0, 0, 0, 1, 2])).is_err());
        assert!(lines_of(ValueRef::Integer(3)).is_err());
    }
    use crate::state::{EventRow, StoryStatus};

    #[test]
    fn a_line_reads_back_as_it_was_written_whatever_its_text_holds() {
        let step = "dev/0/s \"quoted\" \\ tab\t new\nline \u{1} é";
        let mut page = String::new();
        for seq in 1..=2 {
            push_line(
                &mut page,
                &EventRow {
                    seq,
                    at_ms: 7,
                    wall_ms: -3,
                    kind: "task_started",
                    step: (seq == 2).then_some(step),
                    data: r#"{"event":"task_started","story":"s\n1"}"#,
                    moved: (seq == 2).then_some((4, StoryStatus::Blocked)),
                },
            );
        }
        let lines: Vec<&str> = page.split('\n').collect();
        assert_eq!(lines.len(), 2, "{page}");
        let first: Line = serde_json::from_str(lines[0]).unwrap();
        assert_eq!((first.seq, first.step, first.story), (1, None, None));
        let second: Line = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second.step.as_deref(), Some(step));
        assert_eq!(
            (second.story, second.moved()),
            (Some(4), Some(StoryStatus::Blocked))
        );
        assert_eq!(second.at_ms, 7);
        assert_eq!(second.wall_ms, -3);
        assert_eq!(second.kind, "task_started");
        assert_eq!(
            second.data.get(),
            r#"{"event":"task_started","story":"s\n1"}"#
        );
    }
}
