//! Text to AST: split into items, parse each with pest, build typed nodes with spans.

pub mod ast;
pub mod batch;
mod build;
mod build_steps;
mod builder;
mod error;
pub mod expect;
pub mod grammar;
pub mod keywords;
pub mod lex;
mod quick;
pub mod split;
pub mod tokens;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use batch::Batch;
use builder::Builder;
use grammar::{BmadParser, Rule};
use pest::Parser;
use pest::iterators::Pair;

pub use error::describe as describe_rule;

/// The items of one file and what went wrong reading them.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The items that parsed, in order.
    pub items: Vec<ast::Item>,
    /// Syntax and literal diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses the text of one file. Every top-level item is parsed on its own, so one run
/// reports a syntax error in each broken item; the items that parse are kept.
///
/// The file is cut where an item can start and no brace is open
/// ([`split::split_balanced`]); a piece that parses is kept whole. One that does not may
/// end too soon (a keyword in column 0 can be a name: `after a,` then `phase` on the next
/// line), so the pieces after it (up to four) are added while the parse gets into
/// them; a piece that still does not parse is cut again at item keywords
/// ([`split::split`]), and the same done with those chunks, to find where each broken item
/// ends. A text that parses as a whole is not refused unless one of its items goes on past
/// that many keywords in column 0.
///
/// Clean pieces are parsed in batches ([`batch::several`]), and a file of 1 MB or more in
/// two halves at once, the second on a thread of its own: the items and diagnostics are
/// the same as parsing piece by piece, in the same order.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let pieces = split::split_balanced(text);
    let half = pieces.partition_point(|c| c.start < text.len() / 2);
    if text.len() < PARALLEL_BYTES || half == 0 || half == pieces.len() {
        let mut parsed = Parsed::default();
        // One item a piece, mostly: sized once, the list is not copied as it grows.
        parsed.items.reserve_exact(pieces.len());
        parse_pieces(file, text, &pieces, 0..pieces.len(), false, &mut parsed);
        return parsed;
    }
    let second = &pieces[half..];
    std::thread::scope(|scope| {
        let other = std::thread::Builder::new()
            .name("parse".into())
            .spawn_scoped(scope, || {
                let mut parsed = Parsed::default();
                parsed.items.reserve_exact(second.len());
                parse_pieces(file, text, second, 0..second.len(), false, &mut parsed);
                parsed
            });
        let mut parsed = Parsed::default();
        // Sized for both halves: the second's items are moved in at the end.
        parsed.items.reserve_exact(pieces.len());
        let ended = parse_pieces(file, text, &pieces, 0..half, false, &mut parsed);
        let rest = other.map(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        match rest {
            // The first half's last piece did not run into the second half.
            Ok(rest) if ended == half => {
                parsed.items.extend(rest.items);
                parsed.diagnostics.extend(rest.diagnostics);
            }
            // It did (joined with pieces after it), or there was no thread to be had: the
            // rest from where the first half ended.
            _ => {
                parse_pieces(file, text, &pieces, ended..pieces.len(), false, &mut parsed);
            }
        }
        parsed
    })
}

/// Files of at least this many bytes are parsed in two halves side by side (less in the
/// unit tests, to take that way on a small text).
const PARALLEL_BYTES: usize = if cfg!(test) { 1 << 16 } else { 1 << 20 };

/// Parses the pieces in `range` of `pieces` of `text` in order, each alone or with the
/// pieces after it, and returns the index after the last piece it took (past the range's
/// end when its last piece was joined with pieces after it). A piece that does not parse is cut again at item keywords, or,
/// when `recovering` (it is such a cut already), reported.
fn parse_pieces(
    file: FileId,
    text: &str,
    pieces: &[split::Chunk],
    range: std::ops::Range<usize>,
    recovering: bool,
    parsed: &mut Parsed,
) -> usize {
    let mut i = range.start;
    // Pieces before this one were found not to parse as a batch: each goes alone.
    let mut alone_until = i;
    while i < range.end {
        // A story alone in its piece, read as pest would read it, without pest.
        if clean(&pieces[i])
            && let Some(story) = quick::story(file, text, pieces[i].start, pieces[i].end)
        {
            parsed.items.push(ast::Item::Story(story));
            i += 1;
            continue;
        }
        if i >= alone_until {
            // A batch stops before the next story, which is read as above.
            let first = pieces[i].start;
            let stop = pieces[i + 1..range.end]
                .iter()
                .position(|p| p.end - first > batch::BATCH_BYTES || starts_story(text, p))
                .map_or(range.end, |n| i + 1 + n);
            match batch::several(text, &pieces[i..stop]) {
                Batch::Parsed {
                    taken,
                    offset,
                    file: pair,
                    ..
                } => {
                    build(file, offset, pair, parsed);
                    i += taken;
                    continue;
                }
                Batch::Alone(taken) => alone_until = i + taken,
            }
        }
        let piece = &pieces[i];
        i += 1;
        if !clean(piece) {
            if recovering {
                parsed.diagnostics.push(unparsable(file, piece));
                continue;
            }
            let chunks = cut_again(text, piece);
            // Nested too deep across chunks (cut inside open braces), none too deep alone.
            if let Some(at) = piece.too_deep_at
                && chunks.iter().all(|c| c.too_deep_at.is_none())
            {
                parsed.diagnostics.push(too_deep(file, at));
            }
            parse_pieces(file, text, &chunks, 0..chunks.len(), true, parsed);
            continue;
        }
        let e = match BmadParser::parse(Rule::file, &text[piece.start..piece.end]) {
            Ok(mut pairs) => {
                if let Some(pair) = pairs.next() {
                    build(file, piece.start, pair, parsed);
                }
                continue;
            }
            Err(e) => e,
        };
        if let Some(last) = longer(file, text, pieces, i - 1, failed_at(&e), parsed) {
            i = last + 1;
            alone_until = alone_until.max(i);
            continue;
        }
        let chunks = if recovering {
            Vec::new()
        } else {
            cut_again(text, piece)
        };
        // Cut again, the piece would be the one chunk it is: its error is known.
        if recovering || chunks.len() == 1 {
            parsed.diagnostics.push(error::syntax_error(
                file,
                text,
                (piece.start, piece.end),
                &e,
                piece.unclosed_brace.map(|b| b - piece.start),
            ));
        } else {
            parse_pieces(file, text, &chunks, 0..chunks.len(), true, parsed);
        }
    }
    i
}

/// True when `piece` starts with the word `story` (what the splitter cuts at, a word in
/// column 0, except in the first piece of a file).
fn starts_story(text: &str, piece: &split::Chunk) -> bool {
    lex::word(&text.as_bytes()[piece.start..piece.end]) == b"story"
}

/// The chunks of `piece` cut at item keywords ([`split::split`]), placed in `text`.
fn cut_again(text: &str, piece: &split::Chunk) -> Vec<split::Chunk> {
    let at = |x: usize| x + piece.start;
    split::split(&text[piece.start..piece.end])
        .into_iter()
        .map(|c| split::Chunk {
            start: at(c.start),
            end: at(c.end),
            too_deep_at: c.too_deep_at.map(at),
            unclosed_brace: c.unclosed_brace.map(at),
            unterminated: c.unterminated.map(|(x, what)| (at(x), what)),
        })
        .collect()
}

/// Most pieces after a piece that does not parse that [`parse`] adds to it.
const MAX_JOINED: usize = 4;

/// Neither too deep nor holding an unterminated string, block or comment: worth parsing.
fn clean(piece: &split::Chunk) -> bool {
    piece.too_deep_at.is_none() && piece.unterminated.is_none()
}

/// Where pest gave up, in the parsed text.
fn failed_at(e: &pest::error::Error<Rule>) -> usize {
    match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

/// Parses piece `i`, which does not parse alone (pest gave up `failed_at` bytes into it),
/// with the pieces after it, one more at a time, while pest gets as far as the piece
/// added. The index of the last piece of the text that parses, if one does.
fn longer(
    file: FileId,
    text: &str,
    pieces: &[split::Chunk],
    i: usize,
    mut failed_at: usize,
    parsed: &mut Parsed,
) -> Option<usize> {
    let start = pieces[i].start;
    for (j, next) in pieces.iter().enumerate().skip(i + 1).take(MAX_JOINED) {
        // Joined, chunks cut inside open braces nest as deep as their braces add up to.
        let deep = || split::too_deep(&text[start..next.end]).is_some();
        if start + failed_at < next.start || !clean(next) || deep() {
            return None;
        }
        match BmadParser::parse(Rule::file, &text[start..next.end]) {
            Ok(mut pairs) => {
                if let Some(pair) = pairs.next() {
                    build(file, start, pair, parsed);
                }
                return Some(j);
            }
            Err(e) => failed_at = self::failed_at(&e),
        }
    }
    None
}

/// The items of a parsed chunk (its `file` pair) that starts at byte `offset`.
fn build(file: FileId, offset: usize, file_pair: Pair<'_, Rule>, parsed: &mut Parsed) {
    let mut builder = Builder {
        file,
        offset,
        diags: &mut parsed.diagnostics,
    };
    for item in file_pair.into_inner() {
        if let Some(item) = builder.item(item) {
            parsed.items.push(item);
        }
    }
}

/// The diagnostic of a chunk too deep to parse or holding an unterminated string, block or
/// comment.
fn unparsable(file: FileId, chunk: &split::Chunk) -> Diagnostic {
    if let Some(at) = chunk.too_deep_at {
        return too_deep(file, at);
    }
    let (at, what) = chunk.unterminated.unwrap_or((chunk.start, "comment"));
    let close = match what {
        "string" => {
            "close it with `\"` on the same line; text over several lines goes in \"\"\"...\"\"\""
        }
        "rhai code" => {
            "close it with a backtick on the same line; rhai over several lines goes in ```...```"
        }
        "text block" => "close it with \"\"\"",
        "rhai block" => "close it with ```",
        _ => "close it with */",
    };
    Diagnostic::error(Code::Syntax, format!("unterminated {what}"))
        .at(
            Span::new(file, at, at + 1),
            format!("this {what} is never closed"),
        )
        .help(close)
}

/// Blocks nested deeper than the parser takes, from byte `at`.
fn too_deep(file: FileId, at: usize) -> Diagnostic {
    Diagnostic::error(
        Code::TooDeep,
        format!("blocks nested more than {} levels deep", split::MAX_DEPTH),
    )
    .at(Span::new(file, at, at + 1), "too deep from here")
    .help("flatten the workflow: move inner blocks into a `procedure` and `call` it")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    /// Parsed piece by piece in order, on this thread.
    fn in_one_piece(file: FileId, text: &str) -> Parsed {
        let pieces = split::split_balanced(text);
        let mut parsed = Parsed::default();
        parse_pieces(file, text, &pieces, 0..pieces.len(), false, &mut parsed);
        parsed
    }

    /// A file large enough to be parsed in two halves gives what parsing it in one piece
    /// gives: the same items and diagnostics (syntax and literal), in the same order.
    #[test]
    fn a_large_file_parsed_in_halves_is_parsed_as_in_one_piece() {
        let mut text = String::from("import std.roles\n");
        let mut i = 0;
        while text.len() < PARALLEL_BYTES + PARALLEL_BYTES / 8 {
            match i % 97 {
                13 => _ = write!(text, "phase broken{i} {{\n  dev work\n}}\n"),
                41 => _ = write!(text, "phase late{i} {{\n  wait 5parsecs\n}}\n"),
                // An item that goes on in column 0 (a keyword as a name).
                67 => {
                    _ = write!(
                        text,
                        "phase joined{i} after a,\nphase {{\n  dev: work\n}}\n"
                    );
                }
                _ => {
                    _ = write!(
                        text,
                        "phase p{i} after p{} {{\n  dev: work\n}}\nstory \"{i}\" backend {{\n  title \"t\"\n}}\n",
                        i.max(1) - 1
                    );
                }
            }
            i += 1;
        }
        let file: FileId = 0;
        let halves = parse(file, &text);
        let whole = in_one_piece(file, &text);
        assert!(halves.diagnostics.len() > 10);
        assert_eq!(halves.items, whole.items);
        assert_eq!(halves.diagnostics, whole.diagnostics);
    }

    /// Where the halves meet inside an item that goes on in column 0, the item is parsed
    /// whole all the same.
    #[test]
    fn an_item_across_the_halves_is_parsed_whole() {
        let item = "phase p after a,\nphase {\n  dev: work\n}\n";
        let items = item.repeat(PARALLEL_BYTES / item.len() + 1);
        // A comment before the items puts the middle of the text between an item's two
        // lines that start with `phase`.
        let text = (0..item.len())
            .map(|pad| format!("//{}\n{items}", "x".repeat(pad)))
            .find(|text| {
                let pieces = split::split_balanced(text);
                let half = pieces.partition_point(|c| c.start < text.len() / 2);
                text[pieces[half].start..].starts_with("phase {")
            })
            .expect("a padding that puts the middle inside an item");
        let parsed = parse(0, &text);
        assert!(
            parsed.diagnostics.is_empty(),
            "{:?}",
            parsed.diagnostics.first()
        );
        assert_eq!(parsed.items, in_one_piece(0, &text).items);
    }
}
