//! `bmad fmt`: one canonical layout for .bmad text. The layout depends on the words of
//! a file, its comments and its blank lines, never on how it was indented, so formatting
//! twice changes nothing. See [`layout`] for the rules.

mod layout;
mod walk;

use crate::syntax::grammar::{BmadParser, Rule};
use crate::syntax::split;
use pest::Parser;
use walk::Event;

pub use layout::WIDTH;
pub use walk::comment_len;

/// Why a text was not formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// It does not parse (run `bmad check` on it, or [`crate::syntax::parse`], for the
    /// diagnostics).
    Syntax,
    /// The formatted text would not have the same words and comments as the input: a bug
    /// in the formatter, reported instead of writing a changed workflow.
    Changed {
        /// The first word or comment that differs, as `input` / `output`.
        first_difference: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Syntax => write!(f, "the text does not parse"),
            Error::Changed { first_difference } => write!(
                f,
                "formatting would change the workflow ({first_difference}); this is a bug in bmad fmt"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Formats `text`. The result is checked: it parses, and it holds the same words and
/// comments in the same order as `text` (only the optional comma after an `assign` arm
/// goes).
pub fn format(text: &str) -> Result<String, Error> {
    let input = parse(text)?;
    let formatted = layout::layout(&input);
    let output = parse(&formatted)?;
    let (a, b) = (words(&input), words(&output));
    if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
        let shown = |w: Option<&&str>| w.map_or_else(|| "(end)".to_string(), |w| format!("`{w}`"));
        return Err(Error::Changed {
            first_difference: format!("{} / {}", shown(a.get(i)), shown(b.get(i))),
        });
    }
    Ok(formatted)
}

/// The layout events of `text`, refusing text that is nested too deep for the parser.
fn parse(text: &str) -> Result<Vec<Event<'_>>, Error> {
    // Parsed whole: the nesting counts from the start of the text (the parser's recovery
    // split starts counting again at an item keyword in column 0, a formatted text has
    // none inside braces).
    if split::too_deep(text).is_some() {
        return Err(Error::Syntax);
    }
    let mut pairs = BmadParser::parse(Rule::file, text).map_err(|_| Error::Syntax)?;
    let file = pairs.next().ok_or(Error::Syntax)?;
    Ok(walk::events(text, file))
}

/// The words and comments of an event stream.
fn words<'a>(events: &[Event<'a>]) -> Vec<&'a str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Word(w, _) => Some(*w),
            Event::Comment { text, .. } => Some(*text),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::format;
    use super::walk::Event;

    fn fmt(text: &str) -> String {
        format(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn lays_out_blocks_one_entry_per_line() {
        let messy = "phase   p max 2{analyst:brainstorming  {needs idea produces a=\"/a.md\"}\n\n\n  qa :validate}";
        assert_eq!(
            fmt(messy),
            "phase p max 2 {\n  analyst: brainstorming {\n    needs idea\n    produces a = \"/a.md\"\n  }\n\n  qa: validate\n}\n"
        );
    }

    #[test]
    fn keeps_comments_where_they_stand() {
        let text = "// head\n\nphase p { // trailing\n  // own line\n  qa: validate /* inline */ , more\n}\n// tail\n";
        let once = fmt(text);
        assert_eq!(
            once,
            "// head\n\nphase p { // trailing\n  // own line\n  qa: validate /* inline */, more\n}\n// tail\n"
        );
        assert_eq!(fmt(&once), once);
    }

    #[test]
    fn empty_braces_close_on_the_same_line() {
        assert_eq!(fmt("phase p {\n\n}"), "phase p {}\n");
    }

    #[test]
    fn else_and_until_follow_the_closing_brace() {
        let text = "phase p { if approved { qa: ok } else { qa: no }\nrepeat max 2 { dev: fix }\nuntil approved }";
        assert_eq!(
            fmt(text),
            "phase p {\n  if approved {\n    qa: ok\n  } else {\n    qa: no\n  }\n  repeat max 2 {\n    dev: fix\n  } until approved\n}\n"
        );
    }

    #[test]
    fn a_comment_before_else_stands_at_the_braces_indent() {
        let text = "phase p {\n if approved {\n qa: a\n }\n // why\n else {\n qa: b\n }\n try { qa: c } // c\n on failure { qa: d }\n}";
        let once = fmt(text);
        assert_eq!(
            once,
            "phase p {\n  if approved {\n    qa: a\n  }\n  // why\n  else {\n    qa: b\n  }\n  try {\n    qa: c\n  } // c\n  on failure {\n    qa: d\n  }\n}\n"
        );
        assert_eq!(fmt(&once), once);
    }

    #[test]
    fn several_produced_artifacts_go_one_per_line_aligned() {
        let text = "phase p { a: t { produces x = \"/x.md\", y = \"/y.md\" } }";
        assert_eq!(
            fmt(text),
            "phase p {\n  a: t {\n    produces x = \"/x.md\",\n             y = \"/y.md\"\n  }\n}\n"
        );
    }

    #[test]
    fn long_lists_wrap_under_their_first_element() {
        let names: Vec<String> = (0..12).map(|i| format!("task_number_{i}")).collect();
        let text = format!("phase p {{ a: {} }}", names.join(", "));
        let out = fmt(&text);
        assert!(
            out.lines().all(|l| l.chars().count() <= super::WIDTH),
            "{out}"
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[1].starts_with("  a: task_number_0, "), "{out}");
        assert!(lines[2].starts_with("     task_number_"), "{out}");
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn assign_arms_lose_their_optional_commas() {
        let text = "phase p { for s in stories { assign dev by s.type { a => b, c => d } } }";
        assert!(fmt(text).contains("{\n      a => b\n      c => d\n    }"));
    }

    #[test]
    fn refuses_text_that_does_not_parse() {
        assert_eq!(format("phase {"), Err(super::Error::Syntax));
        assert_eq!(
            format(&"phase p { if x { ".repeat(100)),
            Err(super::Error::Syntax)
        );
    }

    /// The text of `events` with random white space wherever the layout is free: the
    /// same words, comments and blank lines as the source, laid out differently.
    fn scramble(events: &[Event], mut seed: u64) -> String {
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut out, mut need_break, mut blank) = (String::new(), false, false);
        for event in events {
            match event {
                Event::Entry { blank: b } => blank = *b,
                Event::Word(w, _) => {
                    let sep = if blank {
                        "\n\n"
                    } else {
                        ["", " ", "  ", "\n", "\t\n   "][(next() % 5) as usize]
                    };
                    let sep = if need_break && !sep.contains('\n') {
                        "\n"
                    } else {
                        sep
                    };
                    // Words that would run together need something between them.
                    let sep = if sep.is_empty() { " " } else { sep };
                    out.push_str(sep);
                    out.push_str(w);
                    (need_break, blank) = (false, false);
                }
                Event::Comment {
                    text,
                    breaks_before,
                    break_after,
                    ..
                } => {
                    out.push_str(match breaks_before {
                        0 if need_break => "\n",
                        0 => " ",
                        1 => "\n",
                        _ => "\n\n",
                    });
                    out.push_str(text);
                    need_break = *break_after;
                }
                Event::ListStart { .. } | Event::ListEnd => {}
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The layout does not depend on how the input was laid out.
        #[test]
        fn layout_does_not_depend_on_the_input_layout(seed in 1u64.., which in 0usize..4) {
            let text = [
                include_str!("../../examples/seed-product.bmad"),
                include_str!("../../examples/seed-operations.bmad"),
                include_str!("../../stdlib/roles.bmad"),
                include_str!("../../stdlib/templates/operations.bmad"),
            ][which];
            let events = super::parse(text).expect("parses");
            let scrambled = scramble(&events, seed);
            proptest::prop_assert_eq!(fmt(&scrambled), fmt(text));
        }
    }

    #[test]
    fn an_empty_file_stays_empty_and_comments_alone_stay() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("  // only\n\n"), "// only\n");
    }
}
