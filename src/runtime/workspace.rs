//! The workspace: the directory a run's artifacts live in. Paths are taken from its root
//! (the seed's `/docs/prd.md` is `<root>/docs/prd.md`); a path that leaves it, by `..` or
//! through a symlink, is refused. Artifact names resolve to their declared paths.

use super::confined::{ConfinedError, Mode};
use crate::ir::Program;
use crate::model::step::{ArtifactRef, Step, StepKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a workspace path or artifact cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The path leaves the workspace by `..`.
    #[error(transparent)]
    Outside(#[from] crate::script::host::ConfineError),
    /// An existing part of the path is a symlink that leads out of the workspace.
    #[error("`{written}` leads outside the workspace (through `{through}`)")]
    LinkOut {
        /// The path as written.
        written: String,
        /// The part of it that leads out.
        through: String,
    },
    /// An artifact reference with neither a name nor a path.
    #[error("an artifact without a name or path")]
    Unnamed,
    /// An artifact name with no declared path.
    #[error("artifact `{0}` has no path")]
    NoPath(String),
    /// Writing an artifact failed (refused by the confinement, or by the system).
    #[error("cannot write {artifact}: {source}")]
    Artifact {
        /// The artifact, as [`Artifact::label`] names it.
        artifact: String,
        /// Why.
        #[source]
        source: ConfinedError,
    },
    /// Writing a workspace file failed.
    #[error(transparent)]
    Write(#[from] ConfinedError),
}

/// An artifact as a task or handoff refers to it: its name (if any), the path as written,
/// and where that is on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// The declared name, when it has one.
    pub name: Option<String>,
    /// The path as written in the workflow (`/docs/prd.md`; a trailing `/` is a directory).
    pub written: String,
    /// The path on disk, inside the workspace.
    pub path: PathBuf,
    /// The workspace (or story worktree) it is confined to: writes follow no link out.
    pub root: PathBuf,
}

impl Artifact {
    /// Whether the artifact is a directory (its path ends with `/`).
    pub fn is_dir(&self) -> bool {
        self.written.ends_with('/')
    }

    /// `name (path)` or the path, for messages.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("`{n}` ({})", self.written),
            None => format!("`{}`", self.written),
        }
    }

    /// Whether it is there: a directory for a directory artifact, anything else for a file.
    pub fn exists(&self) -> bool {
        if self.is_dir() {
            self.path.is_dir()
        } else {
            self.path.exists()
        }
    }

    /// Writes an agent's output as this artifact, unless it is a directory or the agent
    /// wrote the file itself. The parent directories are made; no symlink is followed out
    /// of the workspace (see [`super::confined`]).
    ///
    /// # Errors
    ///
    /// When the path leads out of the workspace or the file cannot be written.
    pub fn write_output(&self, output: &[u8]) -> Result<(), WorkspaceError> {
        if self.is_dir() || self.exists() {
            return Ok(());
        }
        super::confined::write(&self.root, &self.path, output, Mode::Replace)
            .map_err(|source| self.cannot_write(source))
    }

    /// The error of a write of this artifact that failed.
    fn cannot_write(&self, source: ConfinedError) -> WorkspaceError {
        WorkspaceError::Artifact {
            artifact: self.label(),
            source,
        }
    }

    /// Writes a placeholder unless the artifact exists: a directory, or a short Markdown
    /// file naming the agent that wrote it; confined as [`Artifact::write_output`].
    ///
    /// # Errors
    ///
    /// As [`Artifact::write_output`].
    pub fn write_placeholder(&self, by: &str) -> Result<(), WorkspaceError> {
        if self.exists() {
            return Ok(());
        }
        let fail = |source| self.cannot_write(source);
        if self.is_dir() {
            return super::confined::create_dir_all(&self.root, &self.path).map_err(fail);
        }
        let title = self.name.as_deref().unwrap_or(&self.written);
        let text = format!("# {title}\n\nPlaceholder written by the simulated agent `{by}`.\n");
        super::confined::write(&self.root, &self.path, text.as_bytes(), Mode::Replace).map_err(fail)
    }
}

/// The workspace root and the paths of the workflow's named artifacts.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    named: Arc<HashMap<String, String>>,
}

impl Workspace {
    /// The workspace at `root` (made absolute and free of symlinks when it exists) for
    /// `program`'s artifacts: `artifact` declarations and every `produces name = "path"`.
    pub fn new(root: &Path, program: &Program) -> Workspace {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let mut named = HashMap::new();
        for a in &program.artifacts {
            named.insert(a.name.name.to_string(), a.path.value.to_string());
        }
        for body in program.bodies() {
            collect_produced(body, &mut named);
        }
        Workspace {
            root,
            named: Arc::new(named),
        }
    }

    /// The same artifacts in another copy of the workspace at `root` (a story's worktree),
    /// made absolute and free of symlinks when it exists.
    #[must_use]
    pub fn rooted_at(&self, root: &Path) -> Workspace {
        Workspace {
            root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()),
            named: Arc::clone(&self.named),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `bytes` to `written` (a workspace path), replacing or appending, making its
    /// directories, following no symlink out of the workspace.
    ///
    /// # Errors
    ///
    /// When the path leads out of the workspace or the file cannot be written.
    pub fn write(&self, written: &str, bytes: &[u8], mode: Mode) -> Result<(), WorkspaceError> {
        let full = self.resolve(written)?;
        Ok(super::confined::write(&self.root, &full, bytes, mode)?)
    }

    /// `written` inside the workspace. Refused when `..` leads out of it or when an
    /// existing part of the path is a symlink that leads out.
    ///
    /// # Errors
    ///
    /// When `..` or a symlink leads out of the workspace.
    pub fn resolve(&self, written: &str) -> Result<PathBuf, WorkspaceError> {
        let full = crate::script::host::confine(&self.root, written)?;
        // The deepest part of the path that exists decides where it really is.
        let mut existing = full.as_path();
        loop {
            if let Ok(real) = existing.canonicalize() {
                if !real.starts_with(&self.root) {
                    return Err(WorkspaceError::LinkOut {
                        written: written.to_string(),
                        through: existing.display().to_string(),
                    });
                }
                return Ok(full);
            }
            match existing.parent() {
                Some(p) if p.starts_with(&self.root) => existing = p,
                _ => return Ok(full),
            }
        }
    }

    /// A reference to an artifact (a declared name or a literal path) on disk.
    ///
    /// # Errors
    ///
    /// When the name is not declared, or the path leads out of the workspace.
    pub fn artifact(&self, r: &ArtifactRef) -> Result<Artifact, WorkspaceError> {
        match r {
            ArtifactRef::Named(n) => self.named_artifact(&n.name),
            ArtifactRef::Path(p) => Ok(Artifact {
                name: None,
                written: p.value.to_string(),
                path: self.resolve(&p.value)?,
                root: self.root.clone(),
            }),
        }
    }

    /// The artifact declared as `name`.
    ///
    /// # Errors
    ///
    /// When no artifact is declared as `name`, or its path leads out of the workspace.
    pub fn named_artifact(&self, name: &str) -> Result<Artifact, WorkspaceError> {
        let written = self
            .named
            .get(name)
            .ok_or_else(|| WorkspaceError::NoPath(name.to_string()))?;
        Ok(Artifact {
            name: Some(name.to_string()),
            written: written.clone(),
            path: self.resolve(written)?,
            root: self.root.clone(),
        })
    }
}

fn collect_produced(steps: &[Step], named: &mut HashMap<String, String>) {
    for s in steps {
        if let StepKind::Task(t) = &s.kind {
            for p in &t.produces {
                if let (Some(n), Some(path)) = (&p.name, &p.path) {
                    named.insert(n.name.to_string(), path.value.to_string());
                }
            }
        }
        s.for_each_child(|body| collect_produced(body, named));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(dir: &Path) -> Workspace {
        Workspace::new(dir, &Program::default())
    }

    #[test]
    fn absolute_looking_paths_are_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace(dir.path());
        let p = ws.resolve("/docs/prd.md").unwrap();
        assert_eq!(p, ws.root().join("docs/prd.md"));
    }

    #[test]
    fn dot_dot_out_of_the_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = workspace(dir.path()).resolve("docs/../../x").unwrap_err();
        assert!(
            matches!(
                &err,
                WorkspaceError::Outside(crate::script::host::ConfineError::Outside(_))
            ),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        let err = workspace(dir.path())
            .resolve("/out/new/file.md")
            .unwrap_err();
        assert!(matches!(err, WorkspaceError::LinkOut { .. }), "{err}");
        assert!(
            err.to_string().contains("leads outside the workspace"),
            "{err}"
        );
    }
}
