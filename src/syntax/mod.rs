//! Text to AST: split into items, parse each with pest, build typed nodes with spans.

pub mod ast;
pub mod batch;
mod build;
mod build_steps;
mod error;
pub mod grammar;
pub mod literal;
pub mod split;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use batch::Piece;
use build_steps::Builder;
use grammar::Rule;

pub use error::describe as describe_rule;

/// The items of one file and what went wrong reading them.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The items that parsed, in order.
    pub items: Vec<ast::Item>,
    /// Syntax and literal diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// Files of at least this many bytes are parsed in two halves side by side (less in the
/// unit tests, to take that way on a small text).
const PARALLEL_BYTES: usize = if cfg!(test) { 1 << 16 } else { 1 << 20 };

/// Parses the text of one file. Every top-level item is parsed on its own, so one run
/// reports a syntax error in each broken item; the items that parse are kept. A large
/// file is parsed in two halves at once, the second on a thread of its own: the items and
/// diagnostics are the same, in the same order.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let chunks = split::split(text);
    let half = chunks.partition_point(|c| c.start < text.len() / 2);
    if text.len() < PARALLEL_BYTES || half == 0 || half == chunks.len() {
        return parse_chunks(file, text, &chunks, chunks.len());
    }
    let (first, second) = chunks.split_at(half);
    std::thread::scope(|scope| {
        let other = std::thread::Builder::new()
            .name("parse".into())
            .spawn_scoped(scope, || parse_chunks(file, text, second, second.len()));
        // Sized for both halves: the second's items are moved in at the end.
        let mut parsed = parse_chunks(file, text, first, chunks.len());
        let rest = match other {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: the second half here too.
            Err(_) => parse_chunks(file, text, second, second.len()),
        };
        parsed.items.extend(rest.items);
        parsed.diagnostics.extend(rest.diagnostics);
        parsed
    })
}

/// Parses `chunks` of `text`, with room for `capacity` items.
fn parse_chunks(file: FileId, text: &str, chunks: &[split::Chunk], capacity: usize) -> Parsed {
    let mut parsed = Parsed::default();
    // One item a chunk, mostly: sized once, the list is not copied as it grows.
    parsed.items.reserve_exact(capacity);
    batch::parse(text, chunks, |piece| match piece {
        Piece::Parsed {
            offset, file: pair, ..
        } => {
            let mut builder = Builder {
                file,
                offset,
                diags: &mut parsed.diagnostics,
            };
            for item in pair.into_inner() {
                if let Some(item) = builder.item(item) {
                    parsed.items.push(item);
                }
            }
        }
        Piece::Failed { chunk, error } => {
            if let Some(diagnostic) = failed(file, text, chunk, error) {
                parsed.diagnostics.push(diagnostic);
            }
        }
    });
    parsed
}

/// The diagnostic of a chunk that does not parse.
fn failed(
    file: FileId,
    text: &str,
    chunk: &split::Chunk,
    error: Option<Box<pest::error::Error<Rule>>>,
) -> Option<Diagnostic> {
    if let Some(at) = chunk.too_deep_at {
        return Some(
            Diagnostic::error(
                Code::TooDeep,
                format!("blocks nested more than {} levels deep", split::MAX_DEPTH),
            )
            .at(Span::new(file, at, at + 1), "too deep from here")
            .help("flatten the workflow: move inner blocks into a `procedure` and `call` it"),
        );
    }
    if let Some((at, what)) = chunk.unterminated {
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
        return Some(
            Diagnostic::error(Code::Syntax, format!("unterminated {what}"))
                .at(
                    Span::new(file, at, at + 1),
                    format!("this {what} is never closed"),
                )
                .help(close),
        );
    }
    error.map(|e| {
        error::syntax_error(
            file,
            text,
            (chunk.start, chunk.end),
            *e,
            chunk.unclosed_brace.map(|b| b - chunk.start),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file large enough to be parsed in two halves gives what parsing it in one piece
    /// gives: the same items and diagnostics (syntax and literal), in the same order.
    #[test]
    fn a_large_file_parsed_in_halves_is_parsed_as_in_one_piece() {
        let mut text = String::from("import std.roles\n");
        let mut i = 0;
        while text.len() < PARALLEL_BYTES + PARALLEL_BYTES / 8 {
            match i % 97 {
                13 => text.push_str(&format!("phase broken{i} {{\n  dev work\n}}\n")),
                41 => text.push_str(&format!("phase late{i} {{\n  wait 5parsecs\n}}\n")),
                _ => text.push_str(&format!(
                    "phase p{i} after p{} {{\n  dev: work\n}}\nstory \"{i}\" backend {{\n  title \"t\"\n}}\n",
                    i.max(1) - 1
                )),
            }
            i += 1;
        }
        let file: FileId = 0;
        let halves = parse(file, &text);
        let chunks = split::split(&text);
        let whole = parse_chunks(file, &text, &chunks, chunks.len());
        assert!(halves.diagnostics.len() > 10);
        assert_eq!(halves.items, whole.items);
        assert_eq!(halves.diagnostics, whole.diagnostics);
    }
}
