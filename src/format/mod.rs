//! `bmad fmt`: one canonical layout for .bmad text. The layout depends on the words of
//! a file, its comments and its blank lines, never on how it was indented, so formatting
//! twice changes nothing. See [`layout`] for the rules.

mod layout;
mod verify;
mod walk;

use crate::syntax::batch::{self, Piece};
use crate::syntax::grammar::{BmadParser, Rule};
use crate::syntax::split;
use layout::Layout;
use pest::Parser;
use verify::Verifier;
use walk::{Event, Sink, Walker};

pub use layout::WIDTH;

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

/// How a text is parsed to be formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parse {
    /// Item by item, as `bmad check` parses it (see [`crate::syntax::parse`]): an item
    /// that does not parse alone is a syntax error. The items are laid out as they are
    /// parsed: the pest tree of the whole text is never held at once.
    Items,
    /// As one text, with one pest tree: also formats text that parses only as a whole (a
    /// word that starts a line in the middle of an item's header, which `bmad check`
    /// takes for the start of an item).
    Whole,
}

/// Formats `text`, parsed item by item or, when an item does not parse alone, as one
/// text (see [`Parse`]). The result is checked: it parses, and it holds the same words
/// and comments in the same order as `text` (only the optional comma after an `assign`
/// arm goes).
///
/// # Errors
///
/// [`Error::Syntax`] when `text` does not parse; [`Error::Changed`] when the result would
/// not hold the same words and comments (a bug in the formatter).
pub fn format(text: &str) -> Result<String, Error> {
    match format_as(text, Parse::Items) {
        Err(Error::Syntax) => format_as(text, Parse::Whole),
        done => done,
    }
}

/// Formats `text` parsed as `parse` says; the result is checked as by [`format`], parsed
/// the same way.
///
/// # Errors
///
/// As [`format()`].
pub fn format_as(text: &str, parse: Parse) -> Result<String, Error> {
    match parse {
        Parse::Items => items(text),
        Parse::Whole => whole(text),
    }
}

/// The output is checked in pieces of about this many bytes.
const PIECE_BYTES: usize = 64 * 1024;
/// From this many bytes on, the output is checked on a thread of its own as it is laid
/// out (less in the unit tests, to take that way on a small text).
const THREAD_BYTES: usize = if cfg!(test) { 4 * PIECE_BYTES } else { 1 << 20 };

/// The layout of the input and the words and comments laid out since the last piece.
struct Formatting<'a> {
    layout: Layout<'a>,
    words: Vec<&'a str>,
}

impl<'a> Sink<'a> for Formatting<'a> {
    fn event(&mut self, event: Event<'a>) {
        if let Some(w) = word(&event) {
            self.words.push(w);
        }
        self.layout.event(&event);
    }
}

/// Formats `text` item by item as it is parsed; the output is checked a piece at a time
/// as it is laid out (see [`verify`]).
fn items(text: &str) -> Result<String, Error> {
    let chunks = split::split(text);
    std::thread::scope(|scope| {
        let mut verifier = Verifier::start(scope, text, text.len() >= THREAD_BYTES);
        let mut walker = Walker::new(Formatting {
            layout: Layout::with_capacity(2 * PIECE_BYTES),
            words: Vec::new(),
        });
        let mut parses = true;
        batch::parse(text, &chunks, |piece| match piece {
            Piece::Parsed { offset, end, file } if parses => {
                walker.file(&text[offset..end], file);
                // Between two stretches is between two top-level items.
                let f = walker.sink();
                if f.layout.laid_out() >= PIECE_BYTES {
                    verifier.piece(f.layout.cut(), std::mem::take(&mut f.words));
                }
            }
            Piece::Parsed { .. } => {}
            Piece::Failed { .. } => parses = false,
        });
        if !parses {
            return Err(Error::Syntax);
        }
        let f = walker.into_sink();
        verifier.piece(f.layout.finish(), f.words);
        verifier.finish()
    })
}

/// Formats `text` parsed as one text, and checks the output parsed the same way.
fn whole(text: &str) -> Result<String, Error> {
    let mut formatting = Formatting {
        layout: Layout::with_capacity(text.len() + text.len() / 16 + 1),
        words: Vec::new(),
    };
    walk(text, Parse::Whole, |event| formatting.event(event))?;
    let formatted = formatting.layout.finish();
    // A text already in the layout has just been parsed, with these words.
    if formatted != text {
        verify::compare_as(&formatted, Parse::Whole, &formatting.words)?;
    }
    Ok(formatted)
}

/// Gives the layout events of `text` to `sink` as it is parsed; refuses text that does
/// not parse (or is nested too deep for the parser).
fn walk<'a>(text: &'a str, parse: Parse, sink: impl FnMut(Event<'a>)) -> Result<(), Error> {
    let chunks = split::split(text);
    let mut walker = Walker::new(sink);
    if parse == Parse::Whole {
        // Parsed whole: the nesting counts from the start of the text (the chunks start
        // counting again at an item keyword in column 0, a formatted text has none inside
        // braces).
        if split::too_deep(text).is_some() {
            return Err(Error::Syntax);
        }
        let mut pairs = BmadParser::parse(Rule::file, text).map_err(|_| Error::Syntax)?;
        walker.file(text, pairs.next().ok_or(Error::Syntax)?);
        return Ok(());
    }
    let mut parses = true;
    batch::parse(text, &chunks, |piece| match piece {
        Piece::Parsed { offset, end, file } if parses => walker.file(&text[offset..end], file),
        Piece::Parsed { .. } => {}
        Piece::Failed { .. } => parses = false,
    });
    if parses { Ok(()) } else { Err(Error::Syntax) }
}

/// The word or comment of an event.
fn word<'a>(event: &Event<'a>) -> Option<&'a str> {
    match event {
        Event::Word(w, _) => Some(*w),
        Event::Comment { text, .. } => Some(*text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::format;
    use super::walk::Event;
    use std::fmt::Write;

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
            let mut events = Vec::new();
            super::walk(text, super::Parse::Whole, |e| events.push(e)).expect("parses");
            let scrambled = scramble(&events, seed);
            proptest::prop_assert_eq!(fmt(&scrambled), fmt(text));
        }
    }

    /// A large text is laid out in pieces, checked on a thread as they come: the same
    /// text as laying it out whole.
    #[test]
    fn a_large_text_is_formatted_in_pieces_as_it_is_whole() {
        let mut messy = String::new();
        let mut i = 0;
        while messy.len() < super::THREAD_BYTES + super::THREAD_BYTES / 8 {
            let _ = write!(
                messy,
                "// phase {i}\nphase p{i} after p{}{{\n\n\n dev :work{{needs a, b}}}}\n",
                i.max(1) - 1
            );
            i += 1;
        }
        let items = super::format_as(&messy, super::Parse::Items).expect("formats");
        assert_eq!(
            items,
            super::format_as(&messy, super::Parse::Whole).expect("formats")
        );
        assert!(items.starts_with("// phase 0\nphase p0 after p0 {\n  dev: work {\n"));
        // Formatted, it is its own layout (checked without a second parse).
        assert_eq!(
            super::format_as(&items, super::Parse::Items),
            Ok(items.clone())
        );
        // One broken item anywhere and the whole text is refused.
        let broken = format!(
            "{}phase {{\n{}",
            &items[..items.len() / 2],
            &items[items.len() / 2..]
        );
        assert_eq!(
            super::format_as(&broken, super::Parse::Items),
            Err(super::Error::Syntax)
        );
    }

    #[test]
    fn an_empty_file_stays_empty_and_comments_alone_stay() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("  // only\n\n"), "// only\n");
    }
}
