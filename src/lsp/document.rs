//! One open document: its text as the editor has it, and that text loaded with its
//! imports, checked and its names indexed (made again after each edit, when asked for).

use super::position::Lines;
use super::uri;
use crate::check::Index;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::ast;
use crate::syntax::split;
use crate::{Checked, load};
use lsp_types::{Location, Range, TextDocumentContentChangeEvent, Uri};
use std::collections::HashSet;
use std::path::PathBuf;

/// An open document.
pub(crate) struct Document {
    /// How the editor names it.
    pub uri: Uri,
    /// Its file, for a `file:` URI (relative imports resolve from its directory).
    pub path: Option<PathBuf>,
    /// The editor's version of the text.
    pub version: i32,
    /// The text.
    pub text: String,
    /// Where its lines start.
    pub lines: Lines,
    analysis: Analysis,
    /// The text changed since `analysis` was made.
    stale: bool,
}

/// A document's text loaded, checked and indexed.
pub(crate) struct Analysis {
    /// Every file of the workflow (the document's own is file 0) and the diagnostics.
    pub checked: Checked,
    /// Every definition and use of a name.
    pub index: Index,
    /// The document's imports.
    pub imports: Vec<ast::Import>,
}

/// The document's own file among the workflow's files.
pub(crate) const ROOT: FileId = 0;

impl Document {
    /// A document opened with `text`, analysed.
    pub(crate) fn new(uri: Uri, version: i32, text: String) -> Document {
        let path = uri::to_path(&uri);
        let analysis = analyse(path.as_deref(), &text);
        Document {
            path,
            uri,
            version,
            lines: Lines::new(&text),
            text,
            analysis,
            stale: false,
        }
    }

    /// Applies the editor's changes, in order.
    pub(crate) fn change(&mut self, version: i32, changes: Vec<TextDocumentContentChangeEvent>) {
        for change in changes {
            match change.range {
                Some(range) => {
                    let start = self.lines.offset(&self.text, range.start);
                    let end = self.lines.offset(&self.text, range.end).max(start);
                    self.text.replace_range(start..end, &change.text);
                }
                None => self.text = change.text,
            }
            self.lines = Lines::new(&self.text);
        }
        self.version = version;
        self.stale = true;
    }

    /// Analyses the text again if it changed.
    pub(crate) fn refresh(&mut self) {
        if self.stale {
            self.analysis = analyse(self.path.as_deref(), &self.text);
            self.stale = false;
        }
    }

    /// The analysis of the text (of its last version if [`Document::refresh`] was not
    /// called since it changed).
    pub(crate) fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// The byte offset of `position` in the text.
    pub(crate) fn offset(&self, position: lsp_types::Position) -> usize {
        self.lines.offset(&self.text, position)
    }

    /// The word (letters, digits, `_`) around byte `offset`, as a byte range.
    pub(crate) fn word_at(&self, offset: usize) -> Option<(usize, usize)> {
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let offset = offset.min(self.text.len());
        let start = self.text[..offset]
            .char_indices()
            .rev()
            .find(|(_, c)| !is_word(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = self.text[offset..]
            .find(|c: char| !is_word(c))
            .map_or(self.text.len(), |i| offset + i);
        (start < end).then_some((start, end))
    }

    /// The range of bytes `start..end` of the text.
    pub(crate) fn range(&self, start: usize, end: usize) -> Range {
        self.lines.range(&self.text, start, end)
    }
}

/// `text`, the file at `path` (if it has one), loaded with its imports, checked and indexed.
fn analyse(path: Option<&std::path::Path>, text: &str) -> Analysis {
    let name = path.and_then(|p| p.file_name()).map_or_else(
        || "untitled.bmad".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let dir = path.and_then(std::path::Path::parent);
    let loaded = load::load_text(&name, text, dir);
    let imports = loaded
        .modules
        .first()
        .map(|m| {
            m.items
                .iter()
                .filter_map(|i| match i {
                    ast::Item::Import(imp) => Some(imp.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let crate::Indexed {
        mut checked,
        index,
        held_back,
    } = crate::check_loaded_indexed(loaded);
    let kept = beside_syntax_errors(text, &checked.diagnostics, held_back);
    checked.diagnostics.extend(kept);
    checked
        .diagnostics
        .sort_by_key(|d| d.primary.as_ref().map(|l| (l.span.file, l.span.start)));
    Analysis {
        checked,
        index,
        imports,
    }
}

/// Of the checker's findings held back because the document does not parse, those that
/// the items that did not parse cannot explain: a name that is not defined is kept unless
/// a broken item has that word in it; findings about what is missing or unused (an
/// unreachable phase, an artifact nobody produces) are dropped. None when the trouble is
/// not only syntax errors in the document (an import not found hides whole files).
fn beside_syntax_errors(
    text: &str,
    found: &[Diagnostic],
    held_back: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let in_root = |d: &Diagnostic| d.primary.as_ref().is_some_and(|l| l.span.file == ROOT);
    if held_back.is_empty() || found.iter().any(|d| d.code != Code::Syntax || !in_root(d)) {
        return Vec::new();
    }
    let broken: HashSet<&str> = split::split(text)
        .iter()
        .filter(|c| {
            found.iter().any(|d| {
                d.primary
                    .as_ref()
                    .is_some_and(|l| (c.start..=c.end).contains(&(l.span.start as usize)))
            })
        })
        .flat_map(|c| {
            text[c.start..c.end].split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        })
        .collect();
    held_back
        .into_iter()
        .filter(|d| {
            let Some(label) = d.primary.as_ref().filter(|_| in_root(d)) else {
                return false;
            };
            match d.code {
                Code::Unreachable
                | Code::Unused
                | Code::ArtifactNotProduced
                | Code::Missing
                | Code::Verdict => false,
                Code::Undefined => {
                    let name = text
                        .get(label.span.start as usize..label.span.end as usize)
                        .unwrap_or_default();
                    !broken.contains(name)
                }
                _ => true,
            }
        })
        .collect()
}

impl Analysis {
    /// Where `span` is, for the editor: in the document itself, another file of the
    /// workflow, or a stdlib module (written to the cache, [`uri::std_file`]).
    pub(crate) fn location(&self, doc: &Document, span: Span) -> Option<Location> {
        let (start, end) = (span.start as usize, span.end as usize);
        if span.file == ROOT {
            return Some(Location::new(doc.uri.clone(), doc.range(start, end)));
        }
        let file = self.checked.sources.files().nth(span.file as usize)?.1;
        let path = match &file.path {
            Some(path) => std::path::absolute(path).ok()?,
            None => uri::std_file(&file.name)?,
        };
        let lines = Lines::new(&file.text);
        Some(Location::new(
            uri::from_path(&path)?,
            lines.range(&file.text, start, end),
        ))
    }

    /// The file of the workflow that `import` brings in.
    pub(crate) fn imported(&self, import: &ast::Import) -> Option<FileId> {
        let wanted = match &import.target {
            ast::ImportTarget::Module(m) => crate::stdlib::display_name(m),
            ast::ImportTarget::File(rel) => rel.clone(),
        };
        self.checked
            .sources
            .files()
            .skip(1)
            .find(|(_, f)| {
                f.name == wanted
                    || f.path
                        .as_deref()
                        .is_some_and(|p| p.ends_with(wanted.trim_start_matches("./")))
            })
            .map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::Document;
    use std::str::FromStr;

    #[test]
    fn words_after_characters_of_several_bytes() {
        let uri = lsp_types::Uri::from_str("file:///nowhere/x.bmad").expect("a uri");
        let doc = Document::new(uri, 1, "// \u{e9}phase x\n".to_string());
        let at = doc.text.find("phase").expect("phase") + 2;
        assert_eq!(doc.word_at(at), Some((at - 2, at + 3)));
        assert_eq!(doc.word_at(0), None);
    }
}
