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

/// Parses the text of one file. Every top-level item is parsed on its own, so one run
/// reports a syntax error in each broken item; the items that parse are kept.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let chunks = split::split(text);
    // One item a chunk, mostly: sized once, the list is not copied as it grows.
    parsed.items.reserve_exact(chunks.len());
    batch::parse(text, &chunks, |piece| match piece {
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
