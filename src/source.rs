//! Source files, byte spans and line/column lookup shared by every stage.

// Offsets in a file are u32: a file is at most 64 MiB (load::MAX_FILE_BYTES).
#![allow(clippy::cast_possible_truncation)]

use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
pub type FileId = u32;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Span {
    /// The file the range belongs to.
    pub file: FileId,
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span of `file` from `start` to `end` (byte offsets).
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// True for an empty range.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One loaded source: its display name, where it came from, its text and line starts.
#[derive(Debug)]
pub struct SourceFile {
    /// Name shown in diagnostics (a path as the user gave it, or `std/roles.bmad`).
    pub name: String,
    /// Canonical path on disk, `None` for embedded stdlib modules and in-memory text.
    pub path: Option<PathBuf>,
    /// The text.
    pub text: String,
    /// Where each line starts; shared with the [`LineIndex`] a run keeps (a large file
    /// has a million lines).
    line_starts: Arc<Vec<u32>>,
}

impl SourceFile {
    /// The 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        // The first line starts at 0, so at least one start is not after `offset`.
        self.line_starts.partition_point(|s| *s <= offset) - 1
    }

    /// Line and column (both 1-based, column in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        let start = self.line_starts[line] as usize;
        let end = offset.min(self.text.len());
        let column = self
            .text
            .get(start..end)
            .map_or(end - start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    /// For the line holding byte `offset`: the line `before` lines above it (0-based,
    /// stopping at the first) and the byte where that line starts.
    pub fn line_above(&self, offset: usize, before: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        let first = line.saturating_sub(before);
        (first, self.line_starts[first] as usize)
    }
}

/// Every source file of one check or run, addressed by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: String, path: Option<PathBuf>, text: String) -> FileId {
        // Counted first so that the list is allocated once, at its size. Offsets fit in
        // u32: files are at most `load::MAX_FILE_BYTES`, as spans assume.
        let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
        let mut line_starts = Vec::with_capacity(lines + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| (i + 1) as u32));
        self.files.push(SourceFile {
            name,
            path,
            text,
            line_starts: Arc::new(line_starts),
        });
        (self.files.len() - 1) as FileId
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    /// All files in the order they were added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (i as FileId, f))
    }

    /// The file id of a path loaded earlier, if any.
    pub fn find_path(&self, path: &std::path::Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path.as_deref() == Some(path))
            .map(|i| i as FileId)
    }

    /// The file id of an embedded module loaded earlier, by its display name.
    pub fn find_name(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path.is_none() && f.name == name)
            .map(|i| i as FileId)
    }
}

/// File names and line starts of every source, without the texts: enough to name a place
/// (`file:line:column`, column in bytes) when a workflow fails at run time.
#[derive(Debug, Default)]
pub struct LineIndex {
    files: Vec<(String, Arc<Vec<u32>>)>,
}

impl LineIndex {
    /// The index of every file of `sources`.
    pub fn new(sources: &SourceMap) -> LineIndex {
        let files = sources
            .files()
            .map(|(_, f)| (f.name.clone(), Arc::clone(&f.line_starts)))
            .collect();
        LineIndex { files }
    }

    /// `file:line:column` of a span's start.
    pub fn locate(&self, span: Span) -> String {
        match self.files.get(span.file as usize) {
            Some((name, starts)) if !starts.is_empty() => {
                let line = starts.partition_point(|s| *s <= span.start).max(1);
                let column = span.start - starts[line - 1] + 1;
                format!("{name}:{line}:{column}")
            }
            Some((name, _)) => format!("{name}@{}", span.start),
            None => format!("?@{}", span.start),
        }
    }
}
