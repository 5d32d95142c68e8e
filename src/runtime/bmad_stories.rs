//! A BMAD-METHOD project read from the workspace (`stories from bmad "DIR"`): its files
//! are read through the workspace's confinement (no symlink out of it), and a project that
//! cannot be used fails the step with every problem at its file, line and column.

use super::story_files::StoryFileError;
use super::workspace::Workspace;
use crate::project::{Project, ProjectFiles};
use crate::source::SourceMap;

/// A project's files, read inside the workspace.
struct WorkspaceFiles<'a>(&'a Workspace);

impl ProjectFiles for WorkspaceFiles<'_> {
    fn read(&self, path: &str) -> Result<Option<String>, String> {
        let full = self.0.resolve(path).map_err(|e| e.to_string())?;
        if !full.is_file() {
            return Ok(None);
        }
        let bytes = crate::load::read_regular(&full, crate::load::MAX_FILE_BYTES)
            .map_err(|e| e.to_string())?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| format!("not UTF-8 text: {e}"))
    }

    fn list(&self, path: &str) -> Vec<String> {
        let Ok(full) = self.0.resolve(path) else {
            return Vec::new();
        };
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
}

/// The BMAD project at `dir` (a workspace path).
///
/// # Errors
///
/// When the project cannot be used: every problem, one per line.
pub(super) fn load(ws: &Workspace, dir: &str) -> Result<Project, StoryFileError> {
    let mut sources = SourceMap::new();
    crate::project::read(&WorkspaceFiles(ws), dir, &mut sources).map_err(|diagnostics| {
        StoryFileError::Bmad {
            dir: dir.to_string(),
            problems: crate::project::summary(&diagnostics, &sources),
        }
    })
}
