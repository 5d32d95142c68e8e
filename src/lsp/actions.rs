//! Code actions: the replacement a diagnostic suggests ("did you mean `x`?", kept in the
//! diagnostic's data by [`super::diagnostics`]), as a quick fix.

use super::document::Document;
use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, TextEdit, WorkspaceEdit};
use std::collections::HashMap;

/// The quick fixes for the diagnostics the editor sends back.
// lsp-types keys a WorkspaceEdit by Uri, whose inner cell caches a parse and never changes
// its hash.
#[allow(clippy::mutable_key_type)]
pub(crate) fn fixes(
    doc: &Document,
    diagnostics: &[lsp_types::Diagnostic],
) -> Vec<CodeActionOrCommand> {
    diagnostics
        .iter()
        .filter_map(|d| {
            let replace = d.data.as_ref()?.get("replace")?.as_str()?;
            let edit = TextEdit::new(d.range, replace.to_string());
            let changes = HashMap::from([(doc.uri.clone(), vec![edit])]);
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Replace with `{replace}`"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![d.clone()]),
                edit: Some(WorkspaceEdit::new(changes)),
                is_preferred: Some(true),
                ..CodeAction::default()
            }))
        })
        .collect()
}
