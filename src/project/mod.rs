//! BMAD-METHOD projects as they are on disk (`stories from bmad "DIR"`): the stories of a
//! v6 project (`sprint-status.yaml` with its story and spec files), of a v6 spec folder
//! in stories mode (`stories.yaml`), or of a v7 ticket tree (`tickets.toml` files and the
//! plans that hold each ticket's status), read into the same story records as bmad's own
//! story files, each with how far it has come and where its status is written back.
//!
//! Reading goes through [`ProjectFiles`], so the runtime reads inside its workspace and
//! the checker from the disk; every file read joins a [`SourceMap`] so that a problem is a
//! [`Diagnostic`] at its file, line and column. Nothing here writes: [`writeback`]
//! computes a status file's new text, and the runtime writes it (confined, under a lock).

mod graph;
pub mod status;
pub mod text;
mod v6_sprint;
mod v6_stories;
mod v7_tickets;
pub mod writeback;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Story;
use crate::model::step::{Name, Text};
use crate::source::{FileId, SourceMap, Span};
use std::ops::Range;
use std::path::PathBuf;

pub use status::{Progress, Vocabulary};
pub use writeback::{PlaceKind, StatusPlace};

/// Which of BMAD's formats a project keeps its stories in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// v6: `sprint-status.yaml` plus story or spec files.
    SprintStatus,
    /// v6 stories mode: a spec folder's `stories.yaml`.
    StoriesList,
    /// v7: the ticket tree of an initiative (`tickets.toml`, epic folders, plans).
    TicketTree,
}

/// One story of a project.
#[derive(Debug, Clone)]
pub struct ProjectStory {
    /// The story, as bmad's story files give it.
    pub story: Story,
    /// How far it has come, as its files say.
    pub progress: Progress,
    /// The dependencies that must be done, not only in review (a v7 epic gate).
    pub gates: Vec<String>,
    /// Where its status is written back (none: the format keeps no status for it).
    pub place: Option<StatusPlace>,
    /// Where its id is written.
    pub id_at: Span,
    /// Where each of its dependencies is written (in the order of `story.after`).
    pub after_at: Vec<Span>,
}

/// A project's stories, in build order.
#[derive(Debug, Clone)]
pub struct Project {
    /// Its format.
    pub layout: Layout,
    /// Its stories.
    pub stories: Vec<ProjectStory>,
}

/// Where a project's files are read from: paths are relative and `/`-separated.
pub trait ProjectFiles {
    /// The text of the file at `path`; `Ok(None)` when there is no such file.
    ///
    /// # Errors
    ///
    /// When the file is there but cannot be read (or is not UTF-8 text), saying why.
    fn read(&self, path: &str) -> Result<Option<String>, String>;

    /// The names in the directory at `path`, sorted; none when it is no directory.
    fn list(&self, path: &str) -> Vec<String>;
}

/// Files read from a directory on disk (the checker's view of a project).
#[derive(Debug, Clone)]
pub struct DiskFiles {
    /// The directory paths are relative to.
    pub root: PathBuf,
}

impl ProjectFiles for DiskFiles {
    fn read(&self, path: &str) -> Result<Option<String>, String> {
        read_text(&self.root.join(path))
    }

    fn list(&self, path: &str) -> Vec<String> {
        list_names(&self.root.join(path))
    }
}

/// The text of the regular file at `full` (bounded as it is read); `None` when there is
/// no such file.
///
/// # Errors
///
/// When it cannot be read or is not UTF-8 text, saying why.
pub fn read_text(full: &std::path::Path) -> Result<Option<String>, String> {
    if !full.is_file() {
        return Ok(None);
    }
    let bytes =
        crate::load::read_regular(full, crate::load::MAX_FILE_BYTES).map_err(|e| e.to_string())?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| format!("not UTF-8 text: {e}"))
}

/// The names in the directory at `full`, sorted; none when it is no directory.
pub fn list_names(full: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(full)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `dir/name`, for paths where `""` is the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

/// What reading a project needs: its files, the map the files join, the problems found.
pub(crate) struct Reader<'a> {
    files: &'a dyn ProjectFiles,
    sources: &'a mut SourceMap,
    diagnostics: Vec<Diagnostic>,
}

impl Reader<'_> {
    /// The file at `path`, joined to the source map: its id and text. `None` when it is
    /// not there (nothing reported) or cannot be read (reported).
    fn open(&mut self, path: &str) -> Option<(FileId, String)> {
        match self.files.read(path) {
            Ok(Some(text)) => {
                let id = self.sources.add(path.to_string(), None, text.clone());
                Some((id, text))
            }
            Ok(None) => None,
            Err(why) => {
                self.diagnostics.push(
                    Diagnostic::error(Code::Io, format!("cannot read `{path}`: {why}"))
                        .help("a BMAD project's files must be readable UTF-8 text"),
                );
                None
            }
        }
    }

    /// Reports `message` at `at` in `file`.
    fn report(
        &mut self,
        code: Code,
        file: FileId,
        at: Range<usize>,
        message: String,
        label: &str,
        help: Option<String>,
    ) {
        let d = Diagnostic::error(code, message)
            .at(Span::new(file, at.start, at.end), label)
            .maybe_help(help);
        self.diagnostics.push(d);
    }

    /// Reports a file or project that is not in the format, with no place.
    fn malformed(&mut self, message: String, help: &str) {
        self.diagnostics
            .push(Diagnostic::error(Code::ProjectFormat, message).help(help));
    }
}

/// A name read from a project's files (its span is the default: the story's place is in
/// [`ProjectStory`]).
pub(crate) fn name(s: &str) -> Name {
    Name {
        name: s.into(),
        span: Span::default(),
    }
}

/// A text read from a project's files.
pub(crate) fn text_of(s: &str) -> Text {
    Text {
        value: s.into(),
        span: Span::default(),
    }
}

/// Whether a file name is a markdown file's (`.md`, any case).
pub(crate) fn is_markdown(name: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md"))
}

/// A story with the fields every format has; the readers fill in the rest.
pub(crate) fn story(id: &str, story_type: &str, title: Option<&str>) -> Story {
    Story {
        title: title.map(text_of),
        ..Story::new(name(id), name(story_type), Span::default())
    }
}

/// The initiative folder of a v7 project under `base`: `base` itself when it holds a
/// `tickets.toml`, else its one `initiative-*` folder that does (or the active one).
fn ticket_tree(r: &mut Reader, base: &str, active: Option<&str>) -> Option<String> {
    if r.files
        .read(&join(base, "tickets.toml"))
        .ok()
        .flatten()
        .is_some()
    {
        return Some(base.to_string());
    }
    let mut trees: Vec<String> = r
        .files
        .list(base)
        .into_iter()
        .filter(|n| n.starts_with("initiative-"))
        .map(|n| join(base, &n))
        .filter(|d| {
            r.files
                .read(&join(d, "tickets.toml"))
                .ok()
                .flatten()
                .is_some()
        })
        .collect();
    if let Some(a) = active {
        trees.retain(|d| d.ends_with(&format!("/{a}")) || d.ends_with(&format!("-{a}")));
    }
    if trees.len() > 1 {
        r.malformed(
            format!("`{base}` holds several initiatives: {}", trees.join(", ")),
            "name one initiative folder: stories from bmad \"DIR/initiative-<slug>\"",
        );
        return None;
    }
    trees.pop()
}

/// The `active_initiative` of a project's user configuration, when it names one.
fn active_initiative(r: &Reader, root: &str) -> Option<String> {
    let config = r
        .files
        .read(&join(root, "_bmad/custom/config.user.toml"))
        .ok()
        .flatten()?;
    config.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "active_initiative").then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Reads the BMAD project at `dir` (relative to what `files` reads): its format is found
/// from its files (a v7 ticket tree first, then v6's `sprint-status.yaml`, then a
/// `stories.yaml`), its stories read and checked (unique ids, known dependencies, no
/// cycle, known statuses). Each file read is added to `sources`.
///
/// # Errors
///
/// Every problem found, as diagnostics at their places in `sources`.
pub fn read(
    files: &dyn ProjectFiles,
    dir: &str,
    sources: &mut SourceMap,
) -> Result<Project, Vec<Diagnostic>> {
    let root = match dir.trim_matches('/') {
        "." => "",
        d => d.trim_start_matches("./"),
    };
    let mut r = Reader {
        files,
        sources,
        diagnostics: Vec::new(),
    };
    let output = join(root, "_bmad-output");
    let active = active_initiative(&r, root);
    let found = if let Some(tree) = ticket_tree(&mut r, root, active.as_deref())
        .or_else(|| ticket_tree(&mut r, &output, active.as_deref()))
    {
        Some((Layout::TicketTree, v7_tickets::read(&mut r, &tree)))
    } else if let Some(status) = [
        join(&output, "implementation-artifacts/sprint-status.yaml"),
        join(root, "implementation-artifacts/sprint-status.yaml"),
        join(root, "sprint-status.yaml"),
    ]
    .into_iter()
    .find(|p| r.files.read(p).ok().flatten().is_some())
    {
        Some((Layout::SprintStatus, v6_sprint::read(&mut r, &status, root)))
    } else if r
        .files
        .read(&join(root, "stories.yaml"))
        .ok()
        .flatten()
        .is_some()
    {
        Some((Layout::StoriesList, v6_stories::read(&mut r, root)))
    } else {
        None
    };
    let Some((layout, stories)) = found else {
        if r.diagnostics.is_empty() {
            r.malformed(
                format!("no BMAD project at `{dir}`"),
                "a BMAD project has `_bmad-output/implementation-artifacts/sprint-status.yaml` \
                 (v6), a `stories.yaml` (v6 stories mode) or a ticket tree with `tickets.toml` \
                 (v7); name its directory",
            );
        }
        return Err(r.diagnostics);
    };
    graph::check(&mut r.diagnostics, &stories);
    if r.diagnostics.is_empty() {
        Ok(Project { layout, stories })
    } else {
        Err(r.diagnostics)
    }
}

/// The diagnostics of a project that cannot be read, one line each (`file:line:col:
/// message [code]`), for a run's error.
pub fn summary(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let place = d.primary.as_ref().map_or(String::new(), |l| {
                let file = sources.get(l.span.file);
                let (line, column) = file.line_col(l.span.start as usize);
                format!("{}:{line}:{column}: ", file.name)
            });
            format!("{place}{} [{}]", d.message, d.code)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
