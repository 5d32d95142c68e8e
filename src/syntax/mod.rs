//! Text to AST: split into items, parse each with pest, build typed nodes with spans.

pub mod ast;
mod build;
mod build_steps;
mod error;
pub mod grammar;
pub mod literal;
pub mod split;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use build_steps::Builder;
use grammar::{BmadParser, Rule};
use pest::Parser;

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
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let pieces = split::split_balanced(text);
    // One item a piece, mostly: sized once, the list is not copied as it grows.
    parsed.items.reserve_exact(pieces.len());
    parse_pieces(file, text, &pieces, false, &mut parsed);
    parsed
}

/// Parses `pieces` of `text` in order, each alone or with the pieces after it. A piece that
/// does not parse is cut again at item keywords, or, when `recovering` (it is such a cut
/// already), reported.
fn parse_pieces(
    file: FileId,
    text: &str,
    pieces: &[split::Chunk],
    recovering: bool,
    parsed: &mut Parsed,
) {
    let mut i = 0;
    while i < pieces.len() {
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
            parse_pieces(file, text, &chunks, true, parsed);
            continue;
        }
        let e = match BmadParser::parse(Rule::file, &text[piece.start..piece.end]) {
            Ok(pairs) => {
                build(file, piece.start, pairs, parsed);
                continue;
            }
            Err(e) => e,
        };
        if let Some(last) = longer(file, text, pieces, i - 1, failed_at(&e), parsed) {
            i = last + 1;
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
                e,
                piece.unclosed_brace.map(|b| b - piece.start),
            ));
        } else {
            parse_pieces(file, text, &chunks, true, parsed);
        }
    }
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
            Ok(pairs) => {
                build(file, start, pairs, parsed);
                return Some(j);
            }
            Err(e) => failed_at = self::failed_at(&e),
        }
    }
    None
}

/// The items of a parsed chunk that starts at byte `offset`.
fn build(
    file: FileId,
    offset: usize,
    mut pairs: pest::iterators::Pairs<'_, Rule>,
    parsed: &mut Parsed,
) {
    let mut builder = Builder {
        file,
        offset,
        diags: &mut parsed.diagnostics,
    };
    if let Some(file_pair) = pairs.next() {
        for item in file_pair.into_inner() {
            if let Some(item) = builder.item(item) {
                parsed.items.push(item);
            }
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
