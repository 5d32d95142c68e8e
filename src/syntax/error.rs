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
        Rule::http_method => "`get`, `post`, `head` or `put`",
        Rule::status_level => "`healthy`, `warning` or `critical`",
        Rule::stage_name => "`detection`, `triage`, `resolution` or `postmortem`",
        Rule::match_pattern => "a pattern (a name or _)",
        Rule::task => "an agent task (agent: task)",
        Rule::block | Rule::task_body | Rule::handoff_body => "`{`",
        Rule::artifact_refs | Rule::artifact_decl => "an artifact (a name or \"path\")",
        Rule::limit_entry | Rule::setting => "a setting (name value)",
        Rule::assign_arm => "an arm (type => agent)",
        Rule::match_arm => "a match arm (pattern => step)",
        Rule::rule_actions => "`=>` and an action",
        _ => return name.replace('_', " "),
    };
    text.to_string()
}

/// A literal token pest expected, quoted; ranges and built-in rules are left out.
fn token_text(token: &impl std::fmt::Display) -> Option<String> {
    let text = token.to_string();
    let is_range = text.chars().count() == 4
        && text.chars().nth(1) == Some('.')
        && text.chars().nth(2) == Some('.');
    if text == "BUILTIN_RULE" || is_range || text.is_empty() {
        return None;
    }
    Some(format!("`{text}`"))
}

/// The token found at `pos`, for the "unexpected ..." label.
fn found_at(text: &str, pos: usize) -> String {
    let rest = &text[pos.min(text.len())..];
    match rest.chars().next() {
        None => "end of file".to_string(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            format!("`{word}`")
        }
        Some(c) if c.is_whitespace() => "white space".to_string(),
        Some(c) => format!("`{c}`"),
    }
}

/// Converts a failed parse of `chunk` (which starts at byte `offset` of the file) to a
/// diagnostic. Re-parses with pest's error detail to list the literal tokens expected.
pub fn syntax_error(
    file: FileId,
    chunk: &str,
    offset: usize,
    error: pest::error::Error<Rule>,
) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected = BTreeSet::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            expected.insert(describe(*rule));
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
    // A keyword is listed once, whether pest saw the rule or the literal.
    let expected: Vec<String> = expected.into_iter().collect();
    let found = found_at(chunk, pos);
    let list = match expected.len() {
        0 => String::from("something else"),
        1 => expected[0].clone(),
        _ => format!("one of {}", expected.join(", ")),
    };
    let end = chunk[pos.min(chunk.len())..]
        .chars()
        .next()
        .filter(|c| !c.is_whitespace())
        .map_or(pos, |c| pos + c.len_utf8());
    Diagnostic::error(Code::Syntax, format!("expected {list}, found {found}"))
        .at(
            Span::new(file, offset + pos, offset + end),
            format!("unexpected {found}"),
        )
        .help(format!("expected {list}"))
}
