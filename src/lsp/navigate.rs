//! Go to definition, find references and rename: the checker's index followed from the
//! name at the cursor; an import leads to the file it brings in.

use super::document::{Document, ROOT};
use lsp_types::{Location, Range, TextEdit, Uri, WorkspaceEdit};
use std::collections::HashMap;

/// Why a rename is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RenameError {
    /// Nothing to rename at the cursor.
    #[error("no name of the workflow here")]
    NoName,
    /// The new name is not a name.
    #[error("`{0}` is not a name (letters, digits and `_`, not a keyword)")]
    BadName(String),
    /// The name is defined in the stdlib.
    #[error("`{0}` is defined in the stdlib, which cannot be edited")]
    InStdlib(String),
}

/// The definition of what is at byte `offset`.
pub(crate) fn definition(doc: &Document, offset: usize) -> Option<Location> {
    let offset32 = u32::try_from(offset).ok()?;
    let analysis = doc.analysis();
    if let Some(import) = analysis
        .imports
        .iter()
        .find(|i| i.span.start <= offset32 && offset32 <= i.span.end)
    {
        let file = analysis.imported(import)?;
        return analysis.location(doc, crate::source::Span::new(file, 0, 0));
    }
    let i = analysis.index.symbol_at(ROOT, offset32)?;
    analysis.location(doc, analysis.index.symbols[i as usize].span)
}

/// Every use of what is at byte `offset`, its definition too when `declaration`.
pub(crate) fn references(doc: &Document, offset: usize, declaration: bool) -> Vec<Location> {
    let Ok(offset32) = u32::try_from(offset) else {
        return Vec::new();
    };
    let analysis = doc.analysis();
    let Some(i) = analysis.index.symbol_at(ROOT, offset32) else {
        return Vec::new();
    };
    let def = analysis.index.symbols[i as usize].span;
    declaration
        .then_some(def)
        .into_iter()
        .chain(analysis.index.uses_of(i))
        .filter_map(|span| analysis.location(doc, span))
        .collect()
}

/// The range of the name at byte `offset` that can be renamed.
pub(crate) fn prepare(doc: &Document, offset: usize) -> Result<Range, RenameError> {
    renamable(doc, offset)?;
    let index = &doc.analysis().index;
    let inside = |s: &crate::source::Span| {
        s.file == ROOT && s.start as usize <= offset && offset <= s.end as usize
    };
    index
        .symbols
        .iter()
        .map(|s| s.span)
        .chain(index.uses.iter().map(|u| u.span))
        .find(inside)
        .map(|s| doc.range(s.start as usize, s.end as usize))
        .ok_or(RenameError::NoName)
}

/// The edits that rename what is at byte `offset` to `new_name` everywhere it is.
// lsp-types keys a WorkspaceEdit by Uri, whose inner cell caches a parse and never changes
// its hash.
#[allow(clippy::mutable_key_type)]
pub(crate) fn rename(
    doc: &Document,
    offset: usize,
    new_name: &str,
) -> Result<WorkspaceEdit, RenameError> {
    let is_name = new_name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && new_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && crate::syntax::keywords::all()
            .binary_search(&new_name)
            .is_err();
    if !is_name {
        return Err(RenameError::BadName(new_name.to_string()));
    }
    let (locations, _) = renamable(doc, offset)?;
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for l in locations {
        changes
            .entry(l.uri)
            .or_default()
            .push(TextEdit::new(l.range, new_name.to_string()));
    }
    Ok(WorkspaceEdit::new(changes))
}

/// Every place of the name at `offset` and the name, refused for the stdlib's names.
fn renamable(doc: &Document, offset: usize) -> Result<(Vec<Location>, String), RenameError> {
    let offset32 = u32::try_from(offset).map_err(|_| RenameError::NoName)?;
    let analysis = doc.analysis();
    let i = analysis
        .index
        .symbol_at(ROOT, offset32)
        .ok_or(RenameError::NoName)?;
    let symbol = &analysis.index.symbols[i as usize];
    let name = symbol.name.to_string();
    if symbol.span.file != ROOT
        && analysis
            .checked
            .sources
            .get(symbol.span.file)
            .path
            .is_none()
    {
        return Err(RenameError::InStdlib(name));
    }
    Ok((references(doc, offset, true), name))
}
