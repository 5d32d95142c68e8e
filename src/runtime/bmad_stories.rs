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
        crate::project::read_text(&full)
    }

    fn list(&self, path: &str) -> Vec<String> {
        self.0
            .resolve(path)
            .map(|full| crate::project::list_names(&full))
            .unwrap_or_default()
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
