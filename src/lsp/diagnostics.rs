//! The checker's diagnostics as the protocol's: every one with its stable code, linked to
//! its explanation (`bmad explain CODE`), its other places as related information, and
//! the "did you mean" replacement a code action offers kept in its data.

use super::document::{Analysis, Document, ROOT};
use super::uri;
use crate::diagnostic::{Code, Diagnostic, Severity};
use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, NumberOrString, Range, Uri,
};
use std::collections::HashMap;
use std::fmt::Write;

/// The replacement a diagnostic's help suggests (`did you mean `x`?`), if any.
pub(crate) fn suggestion(help: &str) -> Option<&str> {
    let rest = &help[help.find("did you mean `")? + "did you mean `".len()..];
    rest.split('`').next().filter(|s| !s.is_empty())
}

/// The diagnostics of a document: those of its own text where they are, those of the
/// files it imports at the import that brings them in (or its first line).
pub(crate) fn of(doc: &Document, analysis: &Analysis) -> Vec<lsp_types::Diagnostic> {
    // Each code's explanation is looked up (and written) once.
    let mut links: HashMap<Code, Option<Uri>> = HashMap::new();
    analysis
        .checked
        .diagnostics
        .iter()
        .map(|d| {
            let link = links
                .entry(d.code)
                .or_insert_with(|| uri::explain_file(d.code))
                .clone();
            convert(doc, analysis, d, link)
        })
        .collect()
}

fn convert(
    doc: &Document,
    analysis: &Analysis,
    d: &Diagnostic,
    link: Option<Uri>,
) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    let range = match &d.primary {
        Some(label) if label.span.file == ROOT => {
            if !label.text.is_empty() && !message.contains(&label.text) {
                let _ = write!(message, ": {}", label.text);
            }
            doc.range(label.span.start as usize, label.span.end as usize)
        }
        other => {
            if let Some(label) = other {
                let file = analysis.checked.sources.get(label.span.file);
                message = format!("in {}: {message}", file.name);
            }
            at_import(doc, analysis, d)
        }
    };
    if let Some(help) = &d.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    let short = d.code.as_str().trim_start_matches("bmad::");
    let _ = write!(message, "\n(bmad explain {short})");
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: analysis.location(doc, l.span)?,
                message: l.text.clone(),
            })
        })
        .collect();
    // A replacement only for a place in the document itself.
    let data = d
        .help
        .as_deref()
        .and_then(suggestion)
        .filter(|_| d.primary.as_ref().is_some_and(|l| l.span.file == ROOT))
        .map(|s| serde_json::json!({ "replace": s }));
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: link.map(|href| CodeDescription { href }),
        source: Some("bmad".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data,
    }
}

/// The import of the document that brings in the file of `d`, or the first line.
fn at_import(doc: &Document, analysis: &Analysis, d: &Diagnostic) -> Range {
    let file = d.primary.as_ref().map(|l| l.span.file);
    analysis
        .imports
        .iter()
        .find(|i| file.is_some() && analysis.imported(i) == file)
        .map_or_else(
            || doc.range(0, doc.text.find('\n').unwrap_or(doc.text.len())),
            |i| doc.range(i.span.start as usize, i.span.end as usize),
        )
}

#[cfg(test)]
mod tests {
    use super::suggestion;

    #[test]
    fn the_suggested_name() {
        assert_eq!(suggestion("did you mean `build`?"), Some("build"));
        assert_eq!(suggestion("define it"), None);
    }
}
