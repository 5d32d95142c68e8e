//! Hover: what a name is and the first lines of its definition; for an import, the file
//! it brings in; for a keyword, what GRAMMAR.md says of it.

use super::document::{Document, ROOT};
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

/// The language reference, for keywords.
const GRAMMAR: &str = include_str!("../../GRAMMAR.md");

/// How many lines of a definition a hover shows.
const LINES: usize = 8;

/// The hover at byte `offset` of `doc`.
pub(crate) fn at(doc: &Document, offset: usize) -> Option<Hover> {
    let word = doc.word_at(offset);
    let analysis = doc.analysis();
    let offset32 = u32::try_from(offset).ok()?;
    let text = if let Some(import) = analysis
        .imports
        .iter()
        .find(|i| i.span.start <= offset32 && offset32 <= i.span.end)
    {
        let file = analysis.imported(import)?;
        let f = analysis.checked.sources.get(file);
        format!(
            "**import** `{}`\n\n```bmad\n{}\n```",
            f.name,
            first_lines(&f.text, 0)
        )
    } else if let Some(i) = analysis.index.symbol_at(ROOT, offset32) {
        let symbol = &analysis.index.symbols[i as usize];
        let f = analysis.checked.sources.get(symbol.span.file);
        let line_start = f.text[..symbol.span.start as usize]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let uses = analysis.index.uses_of(i).count();
        let place = if symbol.span.file == ROOT {
            String::new()
        } else {
            format!(" (in {})", f.name)
        };
        format!(
            "**{}** `{}`{place}, used {uses} time{}\n\n```bmad\n{}\n```",
            symbol.kind,
            symbol.name,
            if uses == 1 { "" } else { "s" },
            first_lines(&f.text, line_start)
        )
    } else {
        let (start, end) = word?;
        let word = &doc.text[start..end];
        crate::syntax::keywords::all().binary_search(&word).ok()?;
        keyword_doc(word)?
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: None,
    })
}

/// Up to [`LINES`] lines of `text` from byte `start`, through the end of the item they
/// start (a line that closes a brace in column 0).
fn first_lines(text: &str, start: usize) -> String {
    let mut out = Vec::new();
    for line in text[start..].lines().take(LINES) {
        out.push(line);
        if line.starts_with('}') {
            break;
        }
    }
    out.join("\n")
}

/// What GRAMMAR.md says of keyword `word`: the first paragraph of its section (a heading
/// that names it), else the first paragraph that shows it in code.
fn keyword_doc(word: &str) -> Option<String> {
    let quoted = format!("`{word}");
    let paragraphs: Vec<&str> = GRAMMAR.split("\n\n").collect();
    let heading = paragraphs.iter().position(|p| {
        p.starts_with('#')
            && p.lines().next().is_some_and(|h| {
                h.trim_start_matches('#')
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == word)
            })
    });
    let found = match heading {
        Some(h) => {
            let title = paragraphs[h].lines().next().unwrap_or_default();
            let body = paragraphs[h + 1..]
                .iter()
                .find(|p| !p.starts_with("```") && !p.starts_with('#'))?;
            format!("{}\n\n{body}", title.trim_start_matches('#').trim())
        }
        None => paragraphs
            .iter()
            .find(|p| !p.starts_with("```") && !p.starts_with('#') && p.contains(&quoted))?
            .to_string(),
    };
    Some(format!("**keyword** `{word}`\n\n{found}\n\n(GRAMMAR.md)"))
}

#[cfg(test)]
mod tests {
    use super::keyword_doc;

    #[test]
    fn keywords_have_their_section() {
        let phase = keyword_doc("phase").expect("a section");
        assert!(phase.contains("phase"), "{phase}");
        assert!(keyword_doc("parallel").is_some());
        assert!(keyword_doc("no_such_word_anywhere").is_none());
    }
}
