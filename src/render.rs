//! Renders diagnostics for people through miette: `file:line:col`, labels, help.

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::{FileId, SourceFile, SourceMap};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceSpan, SpanContents,
};
use std::fmt;
use std::fmt::Write;

/// How rendered diagnostics look.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Use ANSI colours.
    pub color: bool,
    /// Terminal width to wrap at.
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            color: false,
            width: 100,
        }
    }
}

/// One file's text as miette reads it. miette finds a place by scanning the text from
/// its start; this starts the scan at the line of the place (found in the file's line
/// index), so quoting a place costs the lines quoted, not the size of the file.
#[derive(Debug)]
struct Source<'s> {
    file: Option<&'s SourceFile>,
}

impl miette::SourceCode for Source<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let Some(file) = self.file else {
            return "".read_span(span, before, after);
        };
        let (first, start) = file.line_above(span.offset(), before);
        let window = &file.text.as_str()[start..];
        let shifted = SourceSpan::new((span.offset() - start).into(), span.len());
        let inner = window.read_span(&shifted, before, after)?;
        let at = SourceSpan::new((inner.span().offset() + start).into(), inner.span().len());
        let contents = MietteSpanContents::new_named(
            file.name.clone(),
            inner.data(),
            at,
            inner.line() + first,
            inner.column(),
            // miette counts the lines from the start of the text to the end of what it
            // read (and joins nearby labels by that count): the lines above the window
            // count too.
            inner.line_count() + first,
        );
        Ok(Box::new(contents.with_language("bmad")))
    }
}

/// A diagnostic bound to the source of one file, in the shape miette wants.
#[derive(Debug)]
struct Bound<'s> {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    source: Source<'s>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    related: Vec<Bound<'s>>,
}

impl fmt::Display for Bound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Bound<'_> {}

impl miette::Diagnostic for Bound<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|b| b as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn named(sources: &SourceMap, file: FileId) -> Source<'_> {
    Source {
        file: Some(sources.get(file)),
    }
}

fn labeled(label: &Label, primary: bool) -> LabeledSpan {
    let text = (!label.text.is_empty()).then(|| label.text.clone());
    let span = (label.span.start as usize, label.span.len());
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

fn bind<'s>(diag: &Diagnostic, sources: &'s SourceMap) -> Bound<'s> {
    let severity = match diag.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let file = diag.primary.as_ref().map(|l| l.span.file);
    let mut labels = Vec::new();
    let mut related = Vec::new();
    if let Some(p) = &diag.primary {
        labels.push(labeled(p, true));
    }
    for s in &diag.secondary {
        if Some(s.span.file) == file {
            labels.push(labeled(s, false));
        } else {
            // miette shows one source per diagnostic: a place in another file becomes a
            // related note with its own source.
            related.push(Bound {
                message: s.text.clone(),
                code: diag.code.as_str(),
                severity: miette::Severity::Advice,
                source: named(sources, s.span.file),
                labels: vec![labeled(
                    &Label {
                        span: s.span,
                        text: String::new(),
                    },
                    true,
                )],
                help: None,
                related: Vec::new(),
            });
        }
    }
    let source = match file {
        Some(f) => named(sources, f),
        None => Source { file: None },
    };
    Bound {
        message: diag.message.clone(),
        code: diag.code.as_str(),
        severity,
        source,
        labels,
        help: diag.help.clone(),
        related,
    }
}

/// Renders one diagnostic as text.
pub fn render(diag: &Diagnostic, sources: &SourceMap, options: RenderOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false);
    if labels_on_long_lines(diag, sources) {
        return plain(diag, sources);
    }
    let mut out = String::new();
    let bound = bind(diag, sources);
    if handler.render_report(&mut out, &bound).is_err() {
        out = format!("{}: {}\n", diag.code, diag.message);
    }
    out
}

/// Lines longer than this are not quoted: miette cannot pad a label past column 65,535,
/// and a quoted line that long helps nobody.
const MAX_QUOTED_LINE: usize = 10_000;

fn labels_on_long_lines(diag: &Diagnostic, sources: &SourceMap) -> bool {
    diag.primary.iter().chain(&diag.secondary).any(|l| {
        let text = &sources.get(l.span.file).text;
        let at = (l.span.start as usize).min(text.len());
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        end - start > MAX_QUOTED_LINE
    })
}

/// The diagnostic with its places as `file:line:column` instead of quoted source.
fn plain(diag: &Diagnostic, sources: &SourceMap) -> String {
    let mut out = format!("{}\n\n  × {}\n", diag.code, diag.message);
    for l in diag.primary.iter().chain(&diag.secondary) {
        let file = sources.get(l.span.file);
        let (line, col) = file.line_col(l.span.start as usize);
        let _ = writeln!(out, "  at {}:{line}:{col}: {}", file.name, l.text);
    }
    if let Some(help) = &diag.help {
        let _ = writeln!(out, "  help: {help}");
    }
    out
}
