//! Semantic tokens: the scanner's keywords, strings, numbers, rhai code and comments, and
//! the names the checker resolved, coloured by what they name (a definition marked so).

use super::document::{Document, ROOT};
use crate::syntax::tokens::{self, Kind};
use lsp_types::{
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokens, SemanticTokensLegend,
};
use std::collections::HashMap;

/// The token types, in the order of the legend.
const TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::MACRO,
    SemanticTokenType::CLASS,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::ENUM_MEMBER,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::FUNCTION,
];

/// The legend the server announces.
pub(crate) fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.to_vec(),
        token_modifiers: vec![SemanticTokenModifier::DECLARATION],
    }
}

/// The position in [`TYPES`] of what a name of `kind` is.
fn name_type(kind: &str) -> u32 {
    match kind {
        "agent" => 5,
        "phase" | "environment" => 6,
        "story" | "epic" => 7,
        "artifact" | "level" | "monitor" => 8,
        _ => 9,
    }
}

/// The semantic tokens of `doc`.
pub(crate) fn of(doc: &Document) -> SemanticTokens {
    let index = &doc.analysis().index;
    // The names the checker knows in this file, by where they start: type and whether a
    // definition.
    let mut names: HashMap<usize, (u32, u32)> = HashMap::new();
    for s in index.symbols.iter().filter(|s| s.span.file == ROOT) {
        names.insert(s.span.start as usize, (name_type(s.kind), 1));
    }
    for u in index.uses.iter().filter(|u| u.span.file == ROOT) {
        let kind = u.symbol.map_or(u.kind, |i| index.symbols[i as usize].kind);
        names
            .entry(u.span.start as usize)
            .or_insert((name_type(kind), 0));
    }
    let text = &doc.text;
    let mut data = Vec::new();
    let (mut last_line, mut last_col) = (0, 0);
    for t in tokens::tokens(text) {
        let (kind, mods) = match t.kind {
            Kind::Keyword => (0, 0),
            Kind::String => (1, 0),
            Kind::Number => (2, 0),
            Kind::Comment => (3, 0),
            Kind::Rhai => (4, 0),
            Kind::Name => match names.get(&t.start) {
                Some(found) => *found,
                None => continue,
            },
            Kind::Other => continue,
        };
        // One token a line: a text block or comment over lines is cut at its newlines.
        let mut start = t.start;
        for piece in text[t.start..t.start + t.len].split_inclusive('\n') {
            let shown = piece.trim_end_matches(['\n', '\r']);
            let at = doc.lines.position(text, start);
            let length: usize = shown.chars().map(char::len_utf16).sum();
            if length > 0 {
                let delta_line = at.line - last_line;
                let delta_start = if delta_line == 0 {
                    at.character - last_col
                } else {
                    at.character
                };
                data.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: u32::try_from(length).unwrap_or(u32::MAX),
                    token_type: kind,
                    token_modifiers_bitset: mods,
                });
                (last_line, last_col) = (at.line, at.character);
            }
            start += piece.len();
        }
    }
    SemanticTokens {
        result_id: None,
        data,
    }
}
