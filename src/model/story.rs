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
    /// What the story is about, in a sentence or two (a BMAD ticket's `description`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// The file the story is written in, under the workspace (a BMAD story, spec or leaf
    /// file), for the agent to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Text>,
    /// The whole item.
    pub span: Span,
}

impl Story {
    /// Story `id` of type `story_type` at `span`, with nothing else said of it yet.
    pub fn new(id: Name, story_type: Name, span: Span) -> Story {
        Story {
            id,
            story_type,
            epic: None,
            title: None,
            from_prd: None,
            from_arch: None,
            after: Vec::new(),
            modify: Vec::new(),
            create: Vec::new(),
            accept: Vec::new(),
            description: None,
            file: None,
            span,
        }
    }
}

/// What a `stories from` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum StoryFormat {
    /// bmad's own YAML story files, by path or glob.
    #[default]
    Yaml,
    /// A BMAD-METHOD project's directory as it is (`stories from bmad "DIR"`): its sprint
    /// status and story files, its `stories.yaml`, or its ticket tree.
    Bmad,
}

/// `stories from "glob"` (story files) or `stories from bmad "DIR"` (a BMAD-METHOD
/// project): stories loaded at run time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoriesFrom {
    /// A path or glob under the workspace (a directory, for a BMAD project).
    pub pattern: Text,
    /// What the files are.
    pub format: StoryFormat,
    /// The whole item.
    pub span: Span,
}
