//! The language's keywords, in one place: the words an item starts with (for the splitter
//! and the REPL's definition reader) and every keyword of the grammar (for completion and
//! highlighting). A test checks the item words against grammar/bmad.pest's `item` rule.

use std::sync::OnceLock;

/// Every word a top-level item can start with (the `item` rule of grammar/bmad.pest).
pub const ITEM: &[&str] = &[
    "story",
    "check",
    "heal",
    "agent",
    "override",
    "phase",
    "artifact",
    "epic",
    "import",
    "stories",
    "environment",
    "env",
    "procedure",
    "maintenance",
    "incidents",
    "emergency",
    "monitor",
    "limits",
    "budget",
    "notifications",
    "sync",
    "handoffs",
    "kpi",
    "settings",
    "workflow",
];

/// The item words that never start anything nested: where a brace is left open, one of
/// them in column 0 is taken for the next item (the splitter's recovery cut). The others
/// also start steps or entries (`check`, `heal`, `agent`, `epic`, `limits`).
pub const STRONG: &[&str] = &[
    "import",
    "workflow",
    "artifact",
    "phase",
    "story",
    "stories",
    "environment",
    "env",
    "procedure",
    "maintenance",
    "incidents",
    "emergency",
    "monitor",
    "budget",
    "notifications",
    "sync",
    "handoffs",
    "kpi",
    "settings",
    "override",
];

/// Whether `word` starts an item.
pub fn is_item(word: &[u8]) -> bool {
    ITEM.iter().any(|k| k.as_bytes() == word)
}

/// Whether `word` starts an item and nothing nested.
pub fn is_strong(word: &[u8]) -> bool {
    STRONG.iter().any(|k| k.as_bytes() == word)
}

/// The grammar's text.
const GRAMMAR: &str = include_str!("../../grammar/bmad.pest");

/// Every keyword of the grammar (each quoted lowercase word of grammar/bmad.pest: the
/// keywords, status levels, stages, methods), sorted.
///
/// # Panics
///
/// Never: the pattern it reads the grammar with is a constant that compiles.
pub fn all() -> &'static [&'static str] {
    static KEYWORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYWORDS.get_or_init(|| {
        let quoted = regex::Regex::new(r#""([a-z_]{2,})""#).expect("a valid pattern");
        let mut words: Vec<&str> = quoted
            .captures_iter(GRAMMAR)
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        words.sort_unstable();
        words.dedup();
        words
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of the grammar rule `name` (`name = { ... }`, its first line).
    fn rule(name: &str) -> &'static str {
        GRAMMAR
            .lines()
            .find_map(|l| {
                let (head, body) = l.split_once('=')?;
                (head.trim() == name).then_some(body)
            })
            .unwrap_or_else(|| panic!("no rule `{name}` in the grammar"))
    }

    /// The words rule `name` can start with: its first `kw_` rule's literal, and that of
    /// an optional rule before it (`agent_override? ~ kw_agent`).
    fn first_words(name: &str) -> Vec<String> {
        let body = rule(name);
        let mut words = Vec::new();
        for token in body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '?')) {
            if let Some(kw) = token.strip_prefix("kw_") {
                let literal = rule(&format!("kw_{kw}"));
                words.push(literal.split('"').nth(1).expect("a literal").to_string());
                break;
            }
            if let Some(optional) = token.strip_suffix('?') {
                words.extend(first_words(optional));
            }
        }
        words
    }

    #[test]
    fn the_item_words_are_the_grammars() {
        let alternatives = GRAMMAR
            .split("\nitem = _{")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("the item rule");
        let mut from_grammar: Vec<String> = alternatives
            .split(['|', '\n', ' '])
            .filter(|a| !a.is_empty())
            .flat_map(first_words)
            .collect();
        from_grammar.sort();
        let mut ours: Vec<String> = ITEM.iter().map(ToString::to_string).collect();
        ours.sort();
        assert_eq!(ours, from_grammar);
        for strong in STRONG {
            assert!(ITEM.contains(strong), "`{strong}` is not an item word");
        }
    }

    #[test]
    fn keywords_come_from_the_grammar() {
        let k = all();
        for word in [
            "import",
            "phase",
            "story",
            "monitor",
            "stop_writes",
            "healthy",
            "critical",
            "postmortem",
            "cron",
            "get",
            "parallel",
            "per_agent",
        ] {
            assert!(k.binary_search(&word).is_ok(), "{word}");
        }
        assert!(k.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        assert!(!k.contains(&"{"));
    }
}
