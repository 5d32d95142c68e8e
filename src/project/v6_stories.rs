//! A v6 spec folder in stories mode: `stories.yaml`, a top-level list whose order is the
//! execution order (`id`, `title`, `description`, checkpoints, `invoke_dev_with`), and a
//! story file `stories/<id>-<slug>.md` for each story that has been started. The list
//! never holds a status; a story file's frontmatter `status` (a spec's words) does, and is
//! where the status is written back. Each story waits for the one before it.

use super::status::{Progress, Vocabulary};
use super::text;
use super::writeback::{PlaceKind, StatusPlace};
use super::{ProjectStory, Reader, join, story, text_of};
use crate::diagnostic::Code;
use crate::source::Span;
use serde::Deserialize;

/// One story of the list (other keys are left alone).
#[derive(Deserialize)]
struct Entry {
    id: Option<serde_yaml_ng::Value>,
    title: Option<String>,
    description: Option<String>,
}

/// An id written as a string or a number.
fn id_text(v: &serde_yaml_ng::Value) -> Option<String> {
    match v {
        serde_yaml_ng::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The stories of the spec folder `dir`.
pub(super) fn read(r: &mut Reader, dir: &str) -> Vec<ProjectStory> {
    let path = join(dir, "stories.yaml");
    let Some((file, yaml)) = r.open(&path) else {
        return Vec::new();
    };
    let entries: Vec<Entry> = match serde_yaml_ng::from_str(&yaml) {
        Ok(e) => e,
        Err(e) => {
            let at = e.location().map_or(0, |l| l.index());
            r.report(
                Code::ProjectFormat,
                file,
                at..at,
                format!("`{path}` is not a list of stories: {e}"),
                "here",
                Some(
                    "stories.yaml is a top-level list of `- id: \"1\"` entries with a `title`"
                        .into(),
                ),
            );
            return Vec::new();
        }
    };
    let starts = text::list_starts(&yaml);
    let story_dir = join(dir, "stories");
    let names = r.files.list(&story_dir);
    let mut stories: Vec<ProjectStory> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let from = starts.get(i).copied().unwrap_or(0);
        let to = starts.get(i + 1).copied().unwrap_or(yaml.len());
        let id_range = text::key_in(&yaml, from, to, "id");
        let id_at = Span::new(file, id_range.start, id_range.end);
        let Some(id) = e.id.as_ref().and_then(id_text) else {
            r.report(
                Code::ProjectFormat,
                file,
                id_range,
                format!("story {} of `{path}` has no `id`", i + 1),
                "this story",
                Some(
                    "each story has an `id` (a quoted string), pinned once its file exists".into(),
                ),
            );
            continue;
        };
        let prefix = format!("{id}-");
        let found = names
            .iter()
            .find(|n| n.starts_with(&prefix) && super::is_markdown(n))
            .map(|n| join(&story_dir, n));
        let mut progress = Progress::Backlog;
        let mut place = None;
        let mut accept = Vec::new();
        let mut title = e.title;
        if let Some(f) = &found
            && let Some((fid, md)) = r.open(f)
        {
            accept = text::section_items(&md, |h| h.contains("Acceptance"));
            title = title.or_else(|| text::title(&md));
            if text::frontmatter(&md).is_some() {
                if let Some(s) = text::field(&md, "status") {
                    match Vocabulary::Spec.parse(&s.value) {
                        Some(p) => progress = p,
                        None => r.report(
                            Code::UnknownStatus,
                            fid,
                            s.value_at.clone(),
                            format!("`{}` is not a story status", s.value),
                            "unknown status",
                            Some(format!(
                                "the statuses: {}",
                                Vocabulary::Spec.words().join(", ")
                            )),
                        ),
                    }
                }
                place = Some(StatusPlace {
                    file: f.clone(),
                    kind: PlaceKind::Frontmatter {
                        vocabulary: Vocabulary::Spec,
                        new_plan: None,
                    },
                });
            }
        }
        let mut s = story(&id, "story", title.as_deref());
        s.description = e.description.as_deref().map(text_of);
        s.accept = accept.iter().map(|a| text_of(a)).collect();
        s.file = found.as_deref().map(text_of);
        let mut after_at = Vec::new();
        if let Some(before) = stories.last() {
            s.after.push(before.story.id.clone());
            after_at.push(id_at);
        }
        stories.push(ProjectStory {
            story: s,
            progress,
            gates: Vec::new(),
            place,
            id_at,
            after_at,
        });
    }
    stories
}
