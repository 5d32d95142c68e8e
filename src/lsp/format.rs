//! Formatting: `bmad fmt`'s layout of the whole document, as one edit (none when the text
//! does not parse: the formatter lays out only what it understands).

use super::document::Document;
use lsp_types::TextEdit;

/// The edits that format `doc`; `None` when it does not parse.
pub(crate) fn edits(doc: &Document) -> Option<Vec<TextEdit>> {
    let formatted = crate::format::format(&doc.text).ok()?;
    if formatted == doc.text {
        return Some(Vec::new());
    }
    Some(vec![TextEdit::new(doc.range(0, doc.text.len()), formatted)])
}
