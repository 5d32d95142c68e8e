//! Turns pest's parse errors into diagnostics with readable "expected ..." lists.

use super::grammar::{BmadParser, Rule};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// pest's error detail switch is global; the detailed re-parse holds this while it is on.
static DETAIL: Mutex<()> = Mutex::new(());

/// What a rule is called in an error message.
pub fn describe(rule: Rule) -> String {
    let name = format!("{rule:?}");
    if let Some(kw) = name.strip_prefix("kw_") {
        return format!("`{kw}`");
    }
    let text = match rule {
        Rule::EOI => "end of file",
        Rule::ident | Rule::agent_ref | Rule::ident_list => "a name",
        Rule::path => "a name or dotted name",
        Rule::string | Rule::string_list => "a string",
        Rule::text_block => "a \"\"\"text block\"\"\"",
        Rule::quantity | Rule::number => "a number (like 30s, 4GB, 80%, 1000/hour)",
        Rule::int => "a whole number",
        Rule::rhai => "rhai code in `backticks`",
        Rule::cond => "a condition (a name or `rhai`)",
        Rule::cmp_op => "a comparison (>, >=, <, <=, ==, !=)",
        Rule::module_path => "a module like std.roles",
        // Keyword sets: their words are listed one by one from the expected tokens.
        // And the whole file: nothing useful to say.
        Rule::http_method | Rule::status_level | Rule::stage_name | Rule::file => {
            return String::new();
        }
        Rule::match_pattern => "a pattern (a name or _)",
        Rule::task => "an agent task (agent: task)",
        Rule::block | Rule::task_body | Rule::handoff_body => "`{`",
        Rule::artifact_refs | Rule::artifact_decl => "an artifact (a name or \"path\")",
        Rule::limit_entry | Rule::setting => "a setting (name value)",
        Rule::assign_arm => "an arm (type => agent)",
        Rule::match_arm => "a match arm (pattern => step)",
        Rule::rule_actions => "`=>` and an action",
        Rule::probe_step => "a probe (get, post, head, put, tcp)",
        _ => return name.replace('_', " "),
    };
    text.to_string()
}

/// A literal token pest expected, quoted; white space, comment openers, ranges and
/// built-in rules are left out (they are possible everywhere and say nothing).
fn token_text(token: &impl std::fmt::Display) -> Option<String> {
    let text = token.to_string();
    let is_range = text.chars().count() == 4
        && text.chars().nth(1) == Some('.')
        && text.chars().nth(2) == Some('.');
    let noise = text.trim().is_empty() || text == "//" || text == "/*" || text == "BUILTIN_RULE";
    if noise || is_range {
        return None;
    }
    Some(format!("`{text}`"))
}

/// The token found at `pos`: its text for the label and its length for the span.
fn found_at(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos.min(text.len())..];
    match rest.chars().next() {
        None => ("end of file".to_string(), 0),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            let len = word.len();
            (format!("`{word}`"), len)
        }
        Some('\n') => ("end of line".to_string(), 0),
        Some(c) if c.is_whitespace() => ("white space".to_string(), 0),
        Some(c) => (format!("`{c}`"), c.len_utf8()),
    }
}

/// "did you mean `phase`?" when the word found is a misspelling of an expected keyword.
fn keyword_hint(found: &str, expected: &[String]) -> Option<String> {
    let word = found.strip_prefix('`')?.strip_suffix('`')?;
    let keywords = expected
        .iter()
        .filter_map(|e| e.strip_prefix('`')?.strip_suffix('`'))
        .filter(|k| k.chars().all(|c| c.is_ascii_alphabetic() || c == '_'));
    crate::diagnostic::did_you_mean(word, keywords)
}

/// The units a quantity takes, for the hint that a unit goes right after its number.
const UNITS: &[&str] = &[
    "ms", "s", "sec", "m", "min", "h", "d", "w", "B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB",
    "TiB", "%",
];

/// Two mistakes whose plain parse error points past them: a task's `mode` written before
/// its task names (`analyst: mode specification requirements`), and a unit written apart
/// from its number (`memory 5 MB`). `before` is the chunk up to the error, trimmed.
fn misplaced(
    file: FileId,
    offset: usize,
    before: &str,
    (found, found_end): (&str, usize),
    expected: &[String],
) -> Option<Diagnostic> {
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[line_start..];
    let words: Vec<&str> = line.split_whitespace().collect();
    // `AGENT: mode MODE` then the task names: the parser took `mode` for a task.
    if expected.iter().any(|e| e == "`:`")
        && let [agent, "mode", mode] = words.as_slice()
        && let Some(agent) = agent.strip_suffix(':')
        && let Some(tasks) = found.strip_prefix('`').and_then(|f| f.strip_suffix('`'))
    {
        let at = offset + line_start + line.find("mode").unwrap_or(0);
        // Through the task names found where `:` was expected.
        let end = found_end;
        return Some(
            Diagnostic::error(Code::Syntax, "a task's `mode` comes after its task names")
                .at(Span::new(file, at, end), "`mode` before the task names")
                .help(format!("write `{agent}: {tasks} mode {mode}`")),
        );
    }
    // `NAME 5 MB`: the unit was read as the next entry's name.
    if let [.., number, unit] = words.as_slice()
        && number.chars().next().is_some_and(|c| c.is_ascii_digit())
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == '.')
        && UNITS.contains(unit)
    {
        let at = offset + line_start + line.rfind(number).unwrap_or(0);
        let end = offset + before.len();
        return Some(
            Diagnostic::error(
                Code::Syntax,
                format!("`{unit}` stands apart from its number"),
            )
            .at(
                Span::new(file, at, end),
                "a space between the number and its unit",
            )
            .help(format!(
                "write the unit right after the number: `{number}{unit}` (only `cores`, \
                     `USD` and `tokens` may follow a space)"
            )),
        );
    }
    None
}

/// Converts a failed parse of the chunk `chunk_range` of the file `text` to a
/// diagnostic. Re-parses with pest's error detail to list the literal tokens expected.
/// `unclosed` is the innermost `{` still open at the end of the chunk, if any.
pub(super) fn syntax_error(
    file: FileId,
    text: &str,
    chunk_range: (usize, usize),
    error: &pest::error::Error<Rule>,
    unclosed: Option<usize>,
) -> Diagnostic {
    let (offset, end) = chunk_range;
    let chunk = &text[offset..end];
    let rest = &text[offset..];
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected = BTreeSet::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            let text = describe(*rule);
            if !text.is_empty() {
                expected.insert(text);
            }
        }
    }
    let mut pos = pos;
    if let Ok(_guard) = DETAIL.lock() {
        pest::set_error_detail(true);
        let detailed = BmadParser::parse(Rule::file, chunk);
        pest::set_error_detail(false);
        if let Err(detailed) = detailed
            && let Some(attempts) = detailed.parse_attempts()
            && attempts.max_position >= pos
        {
            if attempts.max_position > pos {
                expected.clear();
                pos = attempts.max_position;
            }
            for token in attempts.expected_tokens() {
                if let Some(t) = token_text(&token) {
                    expected.insert(t);
                }
            }
        }
    }
    let expected: Vec<String> = expected.into_iter().collect();
    // At the end of a chunk, what is found is the start of the next item.
    let (found, len) = found_at(rest, pos);
    let list = match expected.len() {
        0 => String::from("something else"),
        1 => expected[0].clone(),
        _ => format!("one of {}", expected.join(", ")),
    };
    let message = if expected.len() <= 4 {
        format!("expected {list}, found {found}")
    } else {
        format!("unexpected {found}")
    };
    let mut help = format!("expected {list}");
    if let Some(hint) = keyword_hint(&found, &expected) {
        help = format!("{hint} ({help})");
    }
    let before = chunk[..pos.min(chunk.len())].trim_end();
    if let Some(d) = misplaced(
        file,
        offset,
        before,
        (&found, offset + pos + len),
        &expected,
    ) {
        return d;
    }
    if found == "`failure`" && before.ends_with("on") {
        let on = before.len() - 2;
        return Diagnostic::error(Code::Syntax, "`on failure` cannot stand here")
            .at(Span::new(file, offset + on, offset + pos + len), "not allowed here")
            .help("`on failure { }` goes at the end of a block and guards the steps before it; a `parallel` block holds only branches and a match arm or `otherwise` one step: write `try { ... } on failure { ... }` there");
    }
    let at_end = chunk[pos.min(chunk.len())..].trim().is_empty();
    let mut diag = Diagnostic::error(Code::Syntax, message).at(
        Span::new(file, offset + pos, offset + pos + len),
        format!("unexpected {found}"),
    );
    if let Some(brace) = unclosed.filter(|_| at_end || expected.iter().any(|e| e == "`}`")) {
        diag = diag.also(
            Span::new(file, offset + brace, offset + brace + 1),
            "this `{` is never closed",
        );
        if at_end {
            help = format!("add the missing `}}` ({help})");
        }
    }
    diag.help(help)
}
