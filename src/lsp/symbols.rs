//! Document symbols (the outline: one per top-level item, the names it defines inside it
//! as children) and folding ranges (every block over several lines, and long comments and
//! text blocks). Both read the text as the splitter and the scanner cut it, so a file
//! with syntax errors still has them.

use super::document::{Document, ROOT};
use crate::syntax::split;
use crate::syntax::tokens::{self, Kind};
use lsp_types::{CompletionItemKind, DocumentSymbol, FoldingRange, FoldingRangeKind, SymbolKind};

/// The outline of `doc`.
// `deprecated` is a field the protocol deprecated; the struct still has it.
#[allow(deprecated)]
pub(crate) fn outline(doc: &Document) -> Vec<DocumentSymbol> {
    let index = &doc.analysis().index;
    let mut own: Vec<_> = index
        .symbols
        .iter()
        .filter(|s| s.span.file == ROOT)
        .collect();
    own.sort_by_key(|s| s.span.start);
    let mut names = own.into_iter().peekable();
    let mut out = Vec::new();
    for chunk in split::split(&doc.text) {
        let body = doc.text[chunk.start..chunk.end].trim_end();
        let end = chunk.start + body.len();
        let keyword: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if keyword.is_empty() {
            continue;
        }
        // The names defined in this item, in order (the first is its own name).
        while names
            .peek()
            .is_some_and(|s| (s.span.start as usize) < chunk.start)
        {
            names.next();
        }
        let mut inside = Vec::new();
        while let Some(s) = names.next_if(|s| (s.span.end as usize) <= end) {
            inside.push(s);
        }
        let range = doc.range(chunk.start, end);
        let symbol = |name: String, detail: &str, kind, sel| DocumentSymbol {
            name,
            detail: Some(detail.to_string()),
            kind,
            tags: None,
            deprecated: None,
            range,
            selection_range: sel,
            children: None,
        };
        let first_line = body.lines().next().unwrap_or_default();
        let mut item = match inside.first() {
            Some(own) if own.kind != "artifact" || keyword == "artifact" => {
                let sel = doc.range(own.span.start as usize, own.span.end as usize);
                symbol(own.name.to_string(), own.kind, kinds(own.kind).0, sel)
            }
            _ => {
                let name = first_line.trim_end_matches('{').trim().to_string();
                let sel = doc.range(chunk.start, chunk.start + keyword.len());
                symbol(name, &keyword, SymbolKind::KEY, sel)
            }
        };
        let own_name = usize::from(item.kind != SymbolKind::KEY);
        let children: Vec<DocumentSymbol> = inside
            .iter()
            .skip(own_name)
            .map(|s| {
                let sel = doc.range(s.span.start as usize, s.span.end as usize);
                DocumentSymbol {
                    range: sel,
                    ..symbol(s.name.to_string(), s.kind, kinds(s.kind).0, sel)
                }
            })
            .collect();
        if !children.is_empty() {
            item.children = Some(children);
        }
        out.push(item);
    }
    out
}

/// The symbol and completion kinds shown for a definition of `kind`.
pub(crate) fn kinds(kind: &str) -> (SymbolKind, CompletionItemKind) {
    match kind {
        "agent" => (SymbolKind::CLASS, CompletionItemKind::CLASS),
        "phase" | "environment" => (SymbolKind::MODULE, CompletionItemKind::MODULE),
        "story" | "epic" => (SymbolKind::ENUM_MEMBER, CompletionItemKind::ENUM_MEMBER),
        "artifact" => (SymbolKind::FILE, CompletionItemKind::FILE),
        "level" => (SymbolKind::CONSTANT, CompletionItemKind::CONSTANT),
        "monitor" => (SymbolKind::EVENT, CompletionItemKind::EVENT),
        _ => (SymbolKind::FUNCTION, CompletionItemKind::FUNCTION),
    }
}

/// The folding ranges of `doc`.
pub(crate) fn folding(doc: &Document) -> Vec<FoldingRange> {
    let text = &doc.text;
    let line = |offset: usize| doc.lines.position(text, offset).line;
    let mut open = Vec::new();
    let mut out = Vec::new();
    let mut fold = |start: u32, end: u32, kind: Option<FoldingRangeKind>| {
        if end > start {
            out.push(FoldingRange {
                start_line: start,
                end_line: end,
                kind,
                ..FoldingRange::default()
            });
        }
    };
    for t in tokens::tokens(text) {
        match (t.kind, &text[t.start..t.start + t.len]) {
            (Kind::Other, "{") => open.push(line(t.start)),
            (Kind::Other, "}") => {
                if let Some(start) = open.pop() {
                    // The closing line stays visible.
                    fold(start, line(t.start).saturating_sub(1), None);
                }
            }
            (Kind::Comment, _) => fold(
                line(t.start),
                line(t.start + t.len),
                Some(FoldingRangeKind::Comment),
            ),
            (Kind::String | Kind::Rhai, _) => {
                fold(line(t.start), line(t.start + t.len), None);
            }
            _ => {}
        }
    }
    out.sort_by_key(|f| (f.start_line, f.end_line));
    out
}
