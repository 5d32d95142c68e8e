//! The one diagnostic type of bmad: a stable code, a message, labelled spans and help,
//! rendered with miette for people and as JSON lines for machines.

use crate::source::{SourceMap, Span};
use serde::Serialize;
use std::fmt;

/// Every diagnostic code bmad can emit. The string form (`bmad::...`) is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Code {
    /// A file could not be read.
    Io,
    /// A file is not UTF-8 text.
    Encoding,
    /// A file checked on its own defines nothing.
    EmptyFile,
    /// Blocks nested deeper than the parser accepts.
    TooDeep,
    /// The text does not follow the grammar.
    Syntax,
    /// An imported file or stdlib module does not exist.
    ImportNotFound,
    /// Files import each other in a cycle.
    ImportCycle,
    /// A duration, size, percent, rate, count or cron literal is malformed.
    InvalidLiteral,
    /// A value has the wrong unit for where it is used.
    UnitMismatch,
    /// A name is used but never defined.
    Undefined,
    /// A name is defined twice.
    Duplicate,
    /// Stories, phases or environments wait for each other in a cycle.
    DependencyCycle,
    /// A parallel block or for-each is wider than the limits allow.
    ParallelTooWide,
    /// Per-agent limits that cannot fit the global limits.
    LimitExceeded,
    /// A step or handoff consumes an artifact that no earlier step produces.
    ArtifactNotProduced,
    /// A phase or procedure that nothing can reach.
    Unreachable,
    /// A loop without a maximum.
    UnboundedLoop,
    /// A loop waits for `approved` but nothing in it gives a verdict, or a verdict step
    /// can never run.
    Verdict,
    /// A setting, option or value that bmad does not know, or one that does not apply.
    UnknownSetting,
    /// A construct lacks a part it cannot work without.
    Missing,
    /// rhai code that does not compile.
    ScriptSyntax,
    /// rhai code that names a variable, function, environment variable or host that is
    /// not there.
    ScriptUndefined,
    /// A definition nothing uses (warning).
    Unused,
    /// A path leads outside the workspace.
    PathOutside,
    /// A BMAD-METHOD project's file is not in its format (YAML or TOML that does not
    /// parse, a missing id), or the directory holds no BMAD project.
    ProjectFormat,
    /// A BMAD-METHOD project's file gives a story or epic a status its format does not
    /// have.
    UnknownStatus,
    /// The `git_remote` setting names no repository every machine can reach the same way.
    GitRemote,
}

impl Code {
    /// Every code, in a stable order.
    pub const ALL: [Code; 27] = [
        Code::Io,
        Code::Encoding,
        Code::EmptyFile,
        Code::TooDeep,
        Code::Syntax,
        Code::ImportNotFound,
        Code::ImportCycle,
        Code::InvalidLiteral,
        Code::UnitMismatch,
        Code::Undefined,
        Code::Duplicate,
        Code::DependencyCycle,
        Code::ParallelTooWide,
        Code::LimitExceeded,
        Code::ArtifactNotProduced,
        Code::Unreachable,
        Code::UnboundedLoop,
        Code::Verdict,
        Code::UnknownSetting,
        Code::Missing,
        Code::ScriptSyntax,
        Code::ScriptUndefined,
        Code::Unused,
        Code::PathOutside,
        Code::ProjectFormat,
        Code::UnknownStatus,
        Code::GitRemote,
    ];

    /// The stable name, e.g. `bmad::undefined`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "bmad::io",
            Code::Encoding => "bmad::encoding",
            Code::EmptyFile => "bmad::empty-file",
            Code::TooDeep => "bmad::too-deep",
            Code::Syntax => "bmad::syntax",
            Code::ImportNotFound => "bmad::import-not-found",
            Code::ImportCycle => "bmad::import-cycle",
            Code::InvalidLiteral => "bmad::invalid-literal",
            Code::UnitMismatch => "bmad::unit-mismatch",
            Code::Undefined => "bmad::undefined",
            Code::Duplicate => "bmad::duplicate",
            Code::DependencyCycle => "bmad::dependency-cycle",
            Code::ParallelTooWide => "bmad::parallel-too-wide",
            Code::LimitExceeded => "bmad::limit-exceeded",
            Code::ArtifactNotProduced => "bmad::artifact-not-produced",
            Code::Unreachable => "bmad::unreachable",
            Code::UnboundedLoop => "bmad::unbounded-loop",
            Code::Verdict => "bmad::verdict",
            Code::UnknownSetting => "bmad::unknown-setting",
            Code::Missing => "bmad::missing",
            Code::ScriptSyntax => "bmad::script-syntax",
            Code::ScriptUndefined => "bmad::script-undefined",
            Code::Unused => "bmad::unused",
            Code::PathOutside => "bmad::path-outside",
            Code::ProjectFormat => "bmad::project-format",
            Code::UnknownStatus => "bmad::unknown-status",
            Code::GitRemote => "bmad::git-remote",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; does not fail `bmad check`.
    Warning,
    /// The workflow cannot run.
    Error,
}

/// A span with a short text shown under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub text: String,
}

/// One finding of the loader, parser or checker.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One-line title.
    pub message: String,
    /// The main place; `None` only for problems that have no place (an unreadable file).
    pub primary: Option<Label>,
    /// Other places that matter (the first definition of a duplicate, the cycle's edges).
    pub secondary: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a message and no place yet.
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    /// A warning with a message and no place yet.
    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Sets the primary place.
    #[must_use]
    pub fn at(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Adds a secondary place.
    #[must_use]
    pub fn also(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the help text.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the help text if there is one.
    #[must_use]
    pub fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean `x`?" for the closest of `candidates` to `name`, if one is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Edit distance over characters where swapping two neighbours counts as one edit
/// (optimal string alignment), so `phsae` is one edit from `phase`.
// The algorithm's own names: strings a and b, the table d of width w, a cell's value v.
#[allow(clippy::many_single_char_names)]
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("phsae", "phase"), 1);
        assert_eq!(edit_distance("prdo", "prod"), 1);
        assert_eq!(edit_distance("analyts", "analyst"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("phsae", ["phase", "agent"]),
            Some("did you mean `phase`?".into())
        );
        assert_eq!(did_you_mean("zzz", ["phase", "agent"]), None);
        assert_eq!(did_you_mean("phase", ["phase"]), None);
    }
}

/// A diagnostic as one JSON object, for `--format json`.
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    text: &'a str,
}

/// One JSON line describing `diag`.
pub fn to_json(diag: &Diagnostic, sources: &SourceMap) -> String {
    let place = |span: Span| {
        let file = sources.get(span.file);
        let (l, c) = file.line_col(span.start as usize);
        let (el, ec) = file.line_col(span.end as usize);
        (file.name.as_str(), l, c, el, ec)
    };
    let primary = diag.primary.as_ref().map(|l| place(l.span));
    let labels = diag
        .primary
        .iter()
        .chain(&diag.secondary)
        .map(|l| {
            let (file, line, column, _, _) = place(l.span);
            JsonLabel {
                file,
                line,
                column,
                text: &l.text,
            }
        })
        .collect();
    let json = JsonDiagnostic {
        code: diag.code.as_str(),
        severity: diag.severity,
        message: &diag.message,
        file: primary.map(|p| p.0),
        line: primary.map(|p| p.1),
        column: primary.map(|p| p.2),
        end_line: primary.map(|p| p.3),
        end_column: primary.map(|p| p.4),
        labels,
        help: diag.help.as_deref(),
    };
    serde_json::to_string(&json).unwrap_or_default()
}
