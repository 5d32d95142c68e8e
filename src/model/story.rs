//! Stories as written, and where more are read from.

use crate::model::step::{Name, Text};
use crate::source::Span;
use serde::Serialize;

/// A file a story changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileChange {
    /// The file.
    pub path: Text,
    /// What changes.
    pub changes: Option<Text>,
}

/// A file a story creates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewFile {
    /// The file.
    pub path: Text,
    /// The template it starts from.
    pub template: Option<Text>,
}

/// A story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// Its id, like `3.6.16`.
    pub id: Name,
    /// frontend, backend, infrastructure, ...
    pub story_type: Name,
    /// Its epic.
    pub epic: Option<Name>,
    /// Its title.
    pub title: Option<Text>,
    /// Context from the PRD.
    pub from_prd: Option<Text>,
    /// Context from the architecture.
    pub from_arch: Option<Text>,
    /// Stories it depends on.
    pub after: Vec<Name>,
    /// Files to modify.
    pub modify: Vec<FileChange>,
    /// Files to create.
    pub create: Vec<NewFile>,
    /// Acceptance criteria.
    pub accept: Vec<Text>,
    /// The whole item.
    pub span: Span,
}

/// `stories from "glob"`: story files loaded at run time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoriesFrom {
    /// A path or glob under the workspace.
    pub pattern: Text,
    /// The whole item.
    pub span: Span,
}
