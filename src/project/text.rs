//! The text of BMAD's files, line by line: YAML frontmatter fields of markdown files
//! (read and rewritten in place, the rest of the file untouched), the entries of one
//! block of a YAML file with their places, markdown headings and the list items of a
//! section. Parsers check the syntax; these find where things are written, so that a
//! diagnostic points at them and a status is changed without touching anything else.

use std::ops::Range;

/// One `key: value` line of a YAML block, with where its key and value are written.
#[derive(Debug, Clone, PartialEq)]
pub struct LineEntry {
    /// The key, unquoted.
    pub key: String,
    /// Where the key is.
    pub key_at: Range<usize>,
    /// The value, unquoted, without a trailing comment.
    pub value: String,
    /// Where the value is (its quotes included).
    pub value_at: Range<usize>,
}

/// The lines of `text` with the byte where each starts (line ends dropped).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    text.split_inclusive('\n').map(move |l| {
        let start = at;
        at += l.len();
        (start, l.trim_end_matches(['\n', '\r']))
    })
}

/// The value part of `raw` (after a `key:`): its range in `raw` and its text, unquoted,
/// without a trailing `# comment`.
fn value_of(raw: &str) -> (Range<usize>, String) {
    let lead = raw.len() - raw.trim_start().len();
    let rest = &raw[lead..];
    for quote in ['\'', '"'] {
        if let Some(inner) = rest.strip_prefix(quote)
            && let Some(end) = inner.find(quote)
        {
            return (lead..lead + end + 2, inner[..end].to_string());
        }
    }
    let end = rest.find(" #").unwrap_or(rest.len());
    let value = rest[..end].trim_end();
    (lead..lead + value.len(), value.to_string())
}

/// The `key: value` line `line` (starting at byte `start`) when it is one.
fn entry(start: usize, line: &str) -> Option<LineEntry> {
    let indent = line.len() - line.trim_start().len();
    let body = &line[indent..];
    if body.starts_with('#') || body.starts_with("- ") {
        return None;
    }
    let colon = body
        .find(": ")
        .or_else(|| body.strip_suffix(':').map(str::len))?;
    let raw_key = &body[..colon];
    let key = raw_key.trim_matches(['\'', '"']).to_string();
    let after = colon + 1;
    let (range, value) = value_of(body.get(after..).unwrap_or(""));
    let value_start = start + indent + after;
    Some(LineEntry {
        key,
        key_at: start + indent..start + indent + raw_key.len(),
        value,
        value_at: value_start + range.start..value_start + range.end,
    })
}

/// The entries of the top-level YAML mapping `block` (`development_status:`): its
/// indented `key: value` lines, in order, up to the next top-level line.
pub fn block_entries(text: &str, block: &str) -> Vec<LineEntry> {
    let mut out = Vec::new();
    let mut inside = false;
    for (start, line) in lines(text) {
        let top = !line.starts_with([' ', '\t']) && !line.trim().is_empty();
        if top && !line.starts_with('#') {
            inside = line.split('#').next().unwrap_or("").trim_end() == format!("{block}:");
            continue;
        }
        if inside && let Some(e) = entry(start, line) {
            out.push(e);
        }
    }
    out
}

/// The top-level `key: value` line of a YAML text (or frontmatter), when there is one.
pub fn top_entry(text: &str, key: &str) -> Option<LineEntry> {
    lines(text)
        .filter(|(_, l)| !l.starts_with([' ', '\t']))
        .filter_map(|(start, l)| entry(start, l))
        .find(|e| e.key == key)
}

/// The byte range of a markdown file's YAML frontmatter (between its `---` lines).
pub fn frontmatter(text: &str) -> Option<Range<usize>> {
    let body = text
        .strip_prefix("---\n")
        .map(|_| 4)
        .or_else(|| text.strip_prefix("---\r\n").map(|_| 5))?;
    let end = lines(text)
        .skip(1)
        .find(|(_, l)| l.trim_end() == "---")
        .map(|(s, _)| s)?;
    Some(body..end)
}

/// A frontmatter field: its entry, with places in the whole text.
pub fn field(text: &str, key: &str) -> Option<LineEntry> {
    let fm = frontmatter(text)?;
    let mut e = top_entry(&text[fm.clone()], key)?;
    e.key_at = e.key_at.start + fm.start..e.key_at.end + fm.start;
    e.value_at = e.value_at.start + fm.start..e.value_at.end + fm.start;
    Some(e)
}

/// `value` quoted as YAML in single quotes.
pub fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `text` with the value at `at` replaced by `value`, quoted the way the old one was.
pub fn replace_value(text: &str, at: &Range<usize>, value: &str) -> String {
    let old = &text[at.clone()];
    let new = if old.starts_with('\'') {
        single_quoted(value)
    } else if old.starts_with('"') {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        value.to_string()
    };
    format!("{}{new}{}", &text[..at.start], &text[at.end..])
}

/// `text` with frontmatter field `key` set to `value` (single-quoted when new): the line
/// changed in place, or added at the end of the frontmatter. `None` without frontmatter.
pub fn set_field(text: &str, key: &str, value: &str) -> Option<String> {
    if let Some(e) = field(text, key) {
        return Some(replace_value(text, &e.value_at, value));
    }
    let fm = frontmatter(text)?;
    let line = format!("{key}: {}\n", single_quoted(value));
    Some(format!("{}{line}{}", &text[..fm.end], &text[fm.end..]))
}

/// The text of the first `# ` heading.
pub fn title(text: &str) -> Option<String> {
    lines(text)
        .find_map(|(_, l)| l.strip_prefix("# "))
        .map(|t| t.trim().to_string())
}

/// The items of the markdown list in the section whose heading satisfies `pick` (up to
/// the next heading of its level or above), or after a line that does (a bold
/// `**Acceptance Criteria:**` line): `- x`, `* x`, `1. x`, checkboxes dropped.
pub fn section_items(text: &str, pick: impl Fn(&str) -> bool) -> Vec<String> {
    let mut items = Vec::new();
    let mut level = None;
    let mut fence = false;
    for (_, line) in lines(text) {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        let hashes = line.len() - line.trim_start_matches('#').len();
        if hashes > 0 && line[hashes..].starts_with(' ') {
            match level {
                Some(l) if hashes <= l => level = None,
                _ => {}
            }
            if level.is_none() && pick(&line[hashes..]) {
                level = Some(hashes);
            }
            continue;
        }
        if level.is_none() && list_item(line).is_none() && pick(line) {
            // A bold line names the list under it, up to the next heading.
            level = Some(usize::MAX - 1);
            continue;
        }
        if level.is_some()
            && let Some(item) = list_item(line)
        {
            items.push(item);
        }
    }
    items
}

/// The text of a top-level markdown list item.
fn list_item(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))
        .or_else(|| {
            let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            (digits > 0).then(|| line[digits..].strip_prefix(". "))?
        })?;
    let rest = rest
        .strip_prefix("[ ] ")
        .or_else(|| rest.strip_prefix("[x] "))
        .unwrap_or(rest);
    let rest = rest.trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// The start of each top-level item (`- ...` in column 0) of a YAML list file.
pub fn list_starts(text: &str) -> Vec<usize> {
    lines(text)
        .filter(|(_, l)| *l == "-" || l.starts_with("- "))
        .map(|(s, _)| s)
        .collect()
}

/// Where `key: value` is written between `from` and `to` (the first match), for a
/// diagnostic; the key's place, or `from` when it is not found.
pub fn key_in(text: &str, from: usize, to: usize, key: &str) -> Range<usize> {
    let part = &text[from..to.min(text.len())];
    lines(part)
        .find_map(|(s, l)| {
            let body = l.trim_start_matches([' ', '-']);
            let indent = l.len() - body.len();
            body.strip_prefix(key)
                .filter(|r| r.starts_with(':'))
                .map(|_| from + s + indent..from + s + indent + key.len())
        })
        .unwrap_or(from..from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPRINT: &str = "# header\nproject: X\ndevelopment_status:\n  epic-1: backlog   # epic\n  1-1-auth: 'done'\n  # a comment\n\n  1-2-acct: ready-for-dev\naction_items:\n  - epic: 1\n";

    #[test]
    fn the_entries_of_a_block_are_found_with_their_places() {
        let e = block_entries(SPRINT, "development_status");
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["epic-1", "1-1-auth", "1-2-acct"]);
        assert_eq!(e[0].value, "backlog");
        assert_eq!(&SPRINT[e[1].value_at.clone()], "'done'");
        assert_eq!(e[1].value, "done");
        let changed = replace_value(SPRINT, &e[0].value_at, "in-progress");
        assert!(
            changed.contains("  epic-1: in-progress   # epic\n"),
            "{changed}"
        );
        assert_eq!(top_entry(SPRINT, "project").unwrap().value, "X");
    }

    #[test]
    fn frontmatter_fields_are_read_set_and_added() {
        let plan = "---\ntitle: 'A'\nstatus: 'draft'\n---\n\n# Body\nstatus: not this\n";
        assert_eq!(field(plan, "status").unwrap().value, "draft");
        let set = set_field(plan, "status", "in-progress").unwrap();
        assert!(
            set.starts_with("---\ntitle: 'A'\nstatus: 'in-progress'\n---\n"),
            "{set}"
        );
        assert!(set.ends_with("status: not this\n"));
        let added = set_field(plan, "blocked_reason", "it's stuck").unwrap();
        assert!(
            added.contains("blocked_reason: 'it''s stuck'\n---\n"),
            "{added}"
        );
        assert!(set_field("# no frontmatter\n", "status", "done").is_none());
    }

    #[test]
    fn a_section_list_is_read() {
        let md = "# Story 1.2: Accounts\n\nStatus: ready-for-dev\n\n## Acceptance Criteria\n\n1. Users sign up\n2. Users sign in\n\n## Tasks / Subtasks\n\n- [ ] Task\n";
        assert_eq!(title(md).unwrap(), "Story 1.2: Accounts");
        let ac = section_items(md, |h| h.contains("Acceptance Criteria"));
        assert_eq!(ac, ["Users sign up", "Users sign in"]);
        let bold =
            "### Story 1.1: X\n\n**Acceptance Criteria:**\n\n- A\n- B\n\n### Story 1.2: Y\n- C\n";
        assert_eq!(
            section_items(bold, |h| h.contains("Acceptance Criteria")),
            ["A", "B"]
        );
    }
}
