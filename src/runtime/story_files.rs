//! Story files: `stories from "/docs/stories/*.yaml"` names the stories the scrum master
//! writes during sprint planning. They are read when the for-each over stories starts, in
//! the seed's format (plus the `type` that assigns a dev agent):
//!
//! ```yaml
//! story:
//!   id: "3.6.16"
//!   type: frontend
//!   epic: "3.6"
//!   title: "Implement WebRTC peer connection"
//!   context:
//!     from_prd: "Video calling feature"
//!     from_arch: "WebRTC architecture section 3.2"
//!     dependencies: ["3.6.15"]
//!   implementation:
//!     files_to_modify:
//!       - path: /client/src/services/webrtc.ts
//!         changes: "Add peer connection logic"
//!     new_files:
//!       - path: /client/src/hooks/useWebRTC.ts
//!         template: "webrtc-hook"
//!   acceptance_criteria:
//!     - "Peer connection establishes successfully"
//! ```

use super::workspace::{Workspace, WorkspaceError};
use crate::model::step::{Name, Text};
use crate::model::{FileChange, NewFile, StoriesFrom, Story, StoryFormat};
use crate::project::{Progress, StatusPlace};
use crate::source::Span;
use serde::Deserialize;
use std::collections::HashMap;

/// Why the story files cannot be used: each names the file (or the pattern).
#[derive(Debug, thiserror::Error)]
pub enum StoryFileError {
    /// A `stories from` pattern is malformed.
    #[error("stories from `{written}`: {source}")]
    Pattern {
        /// The pattern as written.
        written: String,
        /// Why.
        #[source]
        source: glob::PatternError,
    },
    /// A story file leads out of the workspace.
    #[error(transparent)]
    Outside(#[from] WorkspaceError),
    /// A story file cannot be read.
    #[error("cannot read story file `{file}`: {source}")]
    Unreadable {
        /// The file, in the workspace.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A story file is not UTF-8.
    #[error("story file `{file}` is not UTF-8 text: {source}")]
    NotUtf8 {
        /// The file, in the workspace.
        file: String,
        /// Why.
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// A story file does not parse, at a line and column when known.
    #[error("{file}{}: {source}", at.map_or(String::new(), |(line, column)| format!(":{line}:{column}")))]
    Yaml {
        /// The file, in the workspace.
        file: String,
        /// Its line and column.
        at: Option<(usize, usize)>,
        /// Why.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// A BMAD-METHOD project that cannot be used.
    #[error("the BMAD project at `{dir}` cannot be used:\n{problems}")]
    Bmad {
        /// The project's directory, as written.
        dir: String,
        /// Every problem, one per line, at its file, line and column.
        problems: String,
    },
    /// A story without a `type`.
    #[error(
        "{file}: story `{id}` has no `type` (frontend, backend, infrastructure, ...): \
         the workflow assigns dev agents by type"
    )]
    NoType {
        /// The file, in the workspace.
        file: String,
        /// The story.
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryFile {
    story: StoryYaml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryYaml {
    id: String,
    #[serde(rename = "type")]
    story_type: Option<String>,
    epic: Option<String>,
    title: Option<String>,
    #[serde(default)]
    context: ContextYaml,
    #[serde(default)]
    implementation: ImplementationYaml,
    #[serde(default)]
    acceptance_criteria: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ContextYaml {
    from_prd: Option<String>,
    from_arch: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ImplementationYaml {
    #[serde(default)]
    files_to_modify: Vec<ModifyYaml>,
    #[serde(default)]
    new_files: Vec<NewFileYaml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModifyYaml {
    path: String,
    changes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFileYaml {
    path: String,
    template: Option<String>,
}

fn name(s: String) -> Name {
    Name {
        name: s.into(),
        span: Span::default(),
    }
}

fn text(s: String) -> Text {
    Text {
        value: s.into(),
        span: Span::default(),
    }
}

/// The story of one file's text; `file` names it in errors.
fn parse(file: &str, yaml: &str) -> Result<Story, StoryFileError> {
    let parsed: StoryFile =
        serde_yaml_ng::from_str(yaml).map_err(|source| StoryFileError::Yaml {
            file: file.to_string(),
            at: source.location().map(|at| (at.line(), at.column())),
            source,
        })?;
    let s = parsed.story;
    let Some(story_type) = s.story_type else {
        return Err(StoryFileError::NoType {
            file: file.to_string(),
            id: s.id,
        });
    };
    Ok(Story {
        id: name(s.id),
        story_type: name(story_type),
        epic: s.epic.map(name),
        title: s.title.map(text),
        from_prd: s.context.from_prd.map(text),
        from_arch: s.context.from_arch.map(text),
        after: s.context.dependencies.into_iter().map(name).collect(),
        modify: s
            .implementation
            .files_to_modify
            .into_iter()
            .map(|m| FileChange {
                path: text(m.path),
                changes: m.changes.map(text),
            })
            .collect(),
        create: s
            .implementation
            .new_files
            .into_iter()
            .map(|n| NewFile {
                path: text(n.path),
                template: n.template.map(text),
            })
            .collect(),
        accept: s.acceptance_criteria.into_iter().map(text).collect(),
        description: None,
        file: None,
        span: Span::default(),
    })
}

/// The stories of a workflow's `stories from`, with what BMAD projects say of theirs.
#[derive(Debug, Default)]
pub struct LoadedStories {
    /// Every story, in order.
    pub stories: Vec<Story>,
    /// How far each BMAD project's story has come, by id.
    pub progress: HashMap<String, Progress>,
    /// The dependencies of each BMAD story that must be done, not only in review (v7
    /// epic gates), by id.
    pub gates: HashMap<String, Vec<String>>,
    /// Where each BMAD story's status is written back.
    pub places: Vec<(String, StatusPlace)>,
}

/// Every story of the files `sources` name, in path order, and of the BMAD projects
/// they name. A pattern that matches nothing gives no stories; a file that does not
/// parse, or that leads out of the workspace, is an error naming it, and so is a BMAD
/// project with a problem.
///
/// # Errors
///
/// When a pattern is malformed, or a file cannot be read, does not parse or leads out of
/// the workspace, or a BMAD project cannot be used.
pub fn load(ws: &Workspace, sources: &[StoriesFrom]) -> Result<LoadedStories, StoryFileError> {
    let mut loaded = LoadedStories::default();
    let stories = &mut loaded.stories;
    for source in sources {
        let written = source.pattern.value.as_str();
        if source.format == StoryFormat::Bmad {
            let project = super::bmad_stories::load(ws, written)?;
            for s in project.stories {
                let id = s.story.id.name.to_string();
                loaded.progress.insert(id.clone(), s.progress);
                if !s.gates.is_empty() {
                    loaded.gates.insert(id.clone(), s.gates);
                }
                if let Some(place) = s.place {
                    loaded.places.push((id, place));
                }
                stories.push(s.story);
            }
            continue;
        }
        let inside = written.trim_start_matches('/');
        let root = glob::Pattern::escape(&ws.root().to_string_lossy());
        let pattern = format!("{root}/{inside}");
        let mut paths: Vec<_> = glob::glob(&pattern)
            .map_err(|source| StoryFileError::Pattern {
                written: written.to_string(),
                source,
            })?
            .filter_map(Result::ok)
            .collect();
        paths.sort();
        for path in paths {
            let shown = path
                .strip_prefix(ws.root())
                .unwrap_or(&path)
                .display()
                .to_string();
            // The same confinement as every artifact: no symlink out of the workspace.
            let path = ws.resolve(&shown)?;
            let bytes = crate::load::read_regular(&path, crate::load::MAX_FILE_BYTES).map_err(
                |source| StoryFileError::Unreadable {
                    file: shown.clone(),
                    source,
                },
            )?;
            let yaml = String::from_utf8(bytes).map_err(|source| StoryFileError::NotUtf8 {
                file: shown.clone(),
                source,
            })?;
            stories.push(parse(&shown, &yaml)?);
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_story_file_format_reads() {
        let s = parse(
            "s.yaml",
            "story:\n  id: \"3.6.16\"\n  type: frontend\n  epic: \"3.6\"\n  title: \"Peer\"\n  context:\n    from_arch: \"3.2\"\n    dependencies: [\"3.6.15\"]\n  implementation:\n    files_to_modify:\n      - path: /client/a.ts\n        changes: \"Add logic\"\n    new_files:\n      - path: /client/b.ts\n        template: \"hook\"\n  acceptance_criteria:\n    - \"Works\"\n",
        )
        .unwrap();
        assert_eq!(s.id.name, "3.6.16");
        assert_eq!(s.story_type.name, "frontend");
        assert_eq!(s.after[0].name, "3.6.15");
        assert_eq!(s.modify[0].path.value, "/client/a.ts");
        assert_eq!(s.create[0].template.as_ref().unwrap().value, "hook");
        assert_eq!(s.accept[0].value, "Works");
    }

    #[test]
    fn a_bad_story_file_is_named_with_its_line() {
        let err = parse(
            "docs/stories/x.yaml",
            "story:\n  id: \"1\"\n  titel: \"typo\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("docs/stories/x.yaml:3:"), "{err}");
        assert!(err.contains("titel"), "{err}");
        let err = parse("y.yaml", "story:\n  id: \"1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no `type`"), "{err}");
    }
}
