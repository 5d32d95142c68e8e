//! Completion: the keywords the grammar accepts at the cursor (pest's own list of what it
//! tried there, [`crate::syntax::expect`]) and, where a name may stand, the names the
//! workflow defines (its imports' too).

use super::document::Document;
use super::symbols;
use crate::syntax::{expect, keywords, split};
use lsp_types::{CompletionItem, CompletionItemKind, CompletionList};

/// At most this many names are offered at once (the list says it is incomplete).
const MAX_NAMES: usize = 500;

/// The completions at byte `offset` of `doc`.
pub(crate) fn at(doc: &Document, offset: usize) -> CompletionList {
    let text = &doc.text;
    let offset = offset.min(text.len());
    let word_start = doc.word_at(offset).map_or(offset, |(s, _)| s.min(offset));
    let typed = &text[word_start..offset];
    // The item the cursor is in: the last that starts before the word.
    let item_start = split::split(text)
        .iter()
        .map(|c| c.start)
        .take_while(|&s| s <= word_start)
        .last()
        .unwrap_or(word_start);
    let expected = expect::after(&text[item_start..word_start]);
    let (words, names): (Vec<&str>, bool) = match &expected {
        Some(e) => (e.keywords.clone(), e.name),
        None => (keywords::all().to_vec(), true),
    };
    let mut items: Vec<CompletionItem> = words
        .into_iter()
        .filter(|k| k.starts_with(typed))
        .map(|k| CompletionItem {
            label: k.to_string(),
            kind: Some(CompletionItemKind::KEYWORD),
            detail: Some("keyword".to_string()),
            ..CompletionItem::default()
        })
        .collect();
    let mut incomplete = false;
    if names {
        let mut seen = std::collections::HashSet::new();
        let found = doc
            .analysis()
            .index
            .symbols
            .iter()
            .filter(|s| s.name.starts_with(typed) && seen.insert((s.kind, s.name.as_str())));
        for (n, s) in found.enumerate() {
            if n == MAX_NAMES {
                incomplete = true;
                break;
            }
            items.push(CompletionItem {
                label: s.name.to_string(),
                kind: Some(symbols::kinds(s.kind).1),
                detail: Some(s.kind.to_string()),
                ..CompletionItem::default()
            });
        }
    }
    CompletionList {
        is_incomplete: incomplete,
        items,
    }
}
