//! What the grammar accepts at a place: the keywords (and whether a name) that may come
//! next after a piece of text, read from pest's own list of what it tried there. The
//! language server completes with it.

use super::grammar::{BmadParser, Rule};
use super::keywords;
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};

/// What may follow a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// The keywords, sorted.
    pub keywords: Vec<&'static str>,
    /// Whether a name may follow.
    pub name: bool,
}

/// The words of the grammar's keyword sets (rules that are one of several words).
fn words_of(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::http_method => &["get", "post", "head", "put"],
        Rule::status_level => &["healthy", "warning", "critical"],
        Rule::stage_name => &["detection", "triage", "resolution", "postmortem"],
        _ => &[],
    }
}

/// What the grammar accepts after `before`, the text of one top-level item (or of
/// several) up to a place: `None` when the text goes wrong before its end (what follows
/// is then anyone's guess).
pub fn after(before: &str) -> Option<Expected> {
    let Err(error) = BmadParser::parse(Rule::file, before) else {
        // Whole items: another item may start.
        let mut keywords = keywords::ITEM.to_vec();
        keywords.sort_unstable();
        return Some(Expected {
            keywords,
            name: false,
        });
    };
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if pos < before.trim_end().len() {
        return None;
    }
    let ErrorVariant::ParsingError { positives, .. } = &error.variant else {
        return None;
    };
    let mut out = Expected::default();
    let all = keywords::all();
    for rule in positives {
        let name = format!("{rule:?}");
        if let Some(kw) = name.strip_prefix("kw_") {
            if let Ok(i) = all.binary_search(&kw) {
                out.keywords.push(all[i]);
            }
        } else if matches!(
            rule,
            Rule::ident | Rule::agent_ref | Rule::ident_list | Rule::path | Rule::task
        ) {
            out.name = true;
        }
        out.keywords.extend_from_slice(words_of(*rule));
    }
    out.keywords.sort_unstable();
    out.keywords.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::after;

    #[test]
    fn keywords_at_the_end_of_a_text() {
        let top = after("import std.roles\n").expect("parses");
        assert!(top.keywords.contains(&"phase") && !top.name);
        let inside = after("phase build {\n  ").expect("a place in a phase");
        assert!(inside.keywords.contains(&"parallel"), "{inside:?}");
        assert!(inside.name, "an agent task starts with a name");
        let monitor = after("monitor m {\n  health api ").expect("a probe");
        assert!(monitor.keywords.contains(&"get"), "{monitor:?}");
        assert!(after("phase { phase ").is_none());
    }
}
