//! A v6 project: `sprint-status.yaml`'s `development_status` (epics `epic-N`, stories
//! `N-M-slug`, retrospectives) in build order, with each story's title and acceptance
//! criteria from its story or spec file (in `story_location` or beside the status file)
//! or from the planning artifacts' `epics.md`. v6 files hold no dependencies: the order is
//! the build order, so each story waits for the one before it (one in review already lets
//! the next start).

use super::status::{Progress, Vocabulary};
use super::text::{self, LineEntry};
use super::writeback::{PlaceKind, StatusPlace};
use super::{ProjectStory, Reader, join, name, story, text_of};
use crate::diagnostic::Code;
use crate::source::{FileId, Span};
use std::collections::HashMap;

/// Whether `key` is a story key: `N-M-slug`, `N-Ma-slug` for a split story.
pub(crate) fn is_story_key(key: &str) -> bool {
    story_numbers(key).is_some()
}

/// The epic and story numbers of a story key (`2-6a-x` gives `2`, `6a`).
fn story_numbers(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.splitn(3, '-');
    let (epic, story, slug) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = story.trim_end_matches(|c: char| c.is_ascii_lowercase());
    let ok = !epic.is_empty()
        && epic.bytes().all(|b| b.is_ascii_digit())
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && story.len() - digits.len() <= 1
        && !slug.is_empty();
    ok.then_some((epic, story))
}

/// What a key of `development_status` is.
enum Key<'a> {
    Epic,
    Retrospective,
    Story { epic: &'a str, number: &'a str },
    Other,
}

fn classify(key: &str) -> Key<'_> {
    if let Some((epic, number)) = story_numbers(key) {
        return Key::Story { epic, number };
    }
    match key.strip_prefix("epic-") {
        Some(rest) if rest.bytes().all(|b| b.is_ascii_alphanumeric()) => Key::Epic,
        Some(rest) if rest.ends_with("-retrospective") => Key::Retrospective,
        _ => Key::Other,
    }
}

/// Titles and acceptance criteria from `epics.md` headings (`### Story N.M: Title`).
fn from_epics(text: &str) -> HashMap<String, (String, Vec<String>)> {
    let mut out = HashMap::new();
    let heads: Vec<(usize, &str)> = text
        .match_indices("### Story ")
        .filter(|(at, _)| *at == 0 || text.as_bytes()[at - 1] == b'\n')
        .map(|(at, _)| (at, &text[at + "### Story ".len()..]))
        .collect();
    for (n, (at, rest)) in heads.iter().enumerate() {
        let line = rest.lines().next().unwrap_or("");
        let Some((number, title)) = line.split_once(':') else {
            continue;
        };
        let end = heads.get(n + 1).map_or(text.len(), |(next, _)| *next);
        let section = &text[*at..end];
        let section = section[3..]
            .find("\n## ")
            .map_or(section, |cut| &section[..cut + 3]);
        let accept = text::section_items(section, |h| h.contains("Acceptance Criteria"));
        out.insert(
            number.trim().replace('.', "-"),
            (title.trim().to_string(), accept),
        );
    }
    out
}

/// The story or spec file of `key` in `dirs`: `<key>.md`, `spec-<key>.md`, or a spec
/// named after the story's numbers.
fn story_file(r: &Reader, dirs: &[String], key: &str, numbers: &str) -> Option<String> {
    for dir in dirs {
        let names = r.files.list(dir);
        let exact = [format!("{key}.md"), format!("spec-{key}.md")];
        let spec = format!("spec-{numbers}-");
        if let Some(n) = names
            .iter()
            .find(|n| exact.contains(n))
            .or_else(|| names.iter().find(|n| n.starts_with(&spec)))
        {
            return Some(join(dir, n));
        }
    }
    None
}

/// What a story file adds: its title, criteria and status.
struct FileFacts {
    title: Option<String>,
    accept: Vec<String>,
    progress: Option<Progress>,
}

/// Reads a story file (legacy `# Story N.M: Title` + `Status:` line, or a spec with
/// frontmatter); its unknown status is reported.
fn read_story_file(r: &mut Reader, path: &str) -> Option<FileFacts> {
    let (id, text) = r.open(path)?;
    let accept = text::section_items(&text, |h| {
        h.contains("Acceptance Criteria") || h.contains("Tasks & Acceptance")
    });
    let (status, vocabulary, title) = if let Some(e) = text::field(&text, "status") {
        let title = text::field(&text, "title").map(|t| t.value);
        (Some(e), Vocabulary::Spec, title)
    } else {
        let line = text.match_indices("\nStatus:").next().map(|(at, _)| at + 1);
        let e = line.and_then(|at| {
            let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
            let mut e = text::top_entry(&text[at..end], "Status")?;
            e.value_at = e.value_at.start + at..e.value_at.end + at;
            Some(e)
        });
        let title = text::title(&text).map(|t| match t.split_once(": ") {
            Some((head, rest)) if head.starts_with("Story ") => rest.to_string(),
            _ => t,
        });
        (e, Vocabulary::Sprint, title)
    };
    let progress = status.and_then(|e| status_of(r, id, &e, vocabulary));
    Some(FileFacts {
        title,
        accept,
        progress,
    })
}

/// The progress an entry's value says, or a diagnostic at it.
fn status_of(
    r: &mut Reader,
    file: FileId,
    e: &LineEntry,
    vocabulary: Vocabulary,
) -> Option<Progress> {
    let p = vocabulary.parse(&e.value);
    if p.is_none() {
        r.report(
            Code::UnknownStatus,
            file,
            e.value_at.clone(),
            format!("`{}` is not a status of `{}`", e.value, e.key),
            "unknown status",
            Some(format!(
                "the format's statuses: {}",
                vocabulary.words().join(", ")
            )),
        );
    }
    p
}

/// The stories of the v6 project whose status file is `status` (under `root`).
pub(super) fn read(r: &mut Reader, status: &str, root: &str) -> Vec<ProjectStory> {
    let Some((file, yaml)) = r.open(status) else {
        return Vec::new();
    };
    let entries = text::block_entries(&yaml, "development_status");
    let mut seen: HashMap<&str, &LineEntry> = HashMap::new();
    let mut duplicated = false;
    for e in &entries {
        if let Some(first) = seen.insert(e.key.as_str(), e) {
            duplicated = true;
            let d = crate::diagnostic::Diagnostic::error(
                Code::Duplicate,
                format!("`{}` is in `development_status` twice", e.key),
            )
            .at(Span::new(file, e.key_at.start, e.key_at.end), "again here")
            .also(
                Span::new(file, first.key_at.start, first.key_at.end),
                "first here",
            )
            .help("keep one line per key");
            r.diagnostics.push(d);
        }
    }
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&yaml) {
        Err(e) if !duplicated => {
            let at = e.location().map_or(0, |l| l.index());
            r.report(
                Code::ProjectFormat,
                file,
                at..at,
                format!("`{status}` is not valid YAML: {e}"),
                "here",
                None,
            );
            return Vec::new();
        }
        Ok(v) if v.get("development_status").is_none() => {
            r.report(
                Code::ProjectFormat,
                file,
                0..0,
                format!("`{status}` has no `development_status`"),
                "in this file",
                Some("sprint planning writes `development_status:` with one `key: status` line per epic and story".into()),
            );
            return Vec::new();
        }
        _ => {}
    }
    let here = status.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let mut dirs = Vec::new();
    if let Some(loc) = text::top_entry(&yaml, "story_location") {
        let loc = loc.value.trim_start_matches("{project-root}/");
        dirs.push(join(root, loc.trim_matches('/')));
    }
    dirs.push(here.clone());
    let epics_md = [
        join(&here, "../planning-artifacts/epics.md"),
        join(root, "_bmad-output/planning-artifacts/epics.md"),
    ]
    .into_iter()
    .map(|p| normalize(&p))
    .find_map(|p| r.files.read(&p).ok().flatten());
    let planned = epics_md.as_deref().map(from_epics).unwrap_or_default();
    let mut stories: Vec<ProjectStory> = Vec::new();
    for e in &entries {
        match classify(&e.key) {
            Key::Epic => {
                status_of(r, file, e, Vocabulary::SprintEpic);
            }
            Key::Retrospective if !matches!(e.value.as_str(), "optional" | "done") => {
                r.report(
                    Code::UnknownStatus,
                    file,
                    e.value_at.clone(),
                    format!("`{}` is not a status of `{}`", e.value, e.key),
                    "unknown status",
                    Some("a retrospective is `optional` or `done`".into()),
                );
            }
            // A key listed twice is reported above, once.
            Key::Story { .. } if stories.iter().any(|s| s.story.id.name == e.key) => {}
            Key::Story { epic, number } => {
                let sprint = status_of(r, file, e, Vocabulary::Sprint).unwrap_or(Progress::Backlog);
                let numbers = format!("{epic}-{number}");
                let found = story_file(r, &dirs, &e.key, &numbers);
                let facts = found.as_deref().and_then(|p| read_story_file(r, p));
                let (planned_title, planned_accept) =
                    planned.get(&numbers).cloned().unwrap_or_default();
                let slug = e.key.splitn(3, '-').nth(2).unwrap_or("").replace('-', " ");
                let title = facts
                    .as_ref()
                    .and_then(|f| f.title.clone())
                    .or((!planned_title.is_empty()).then_some(planned_title))
                    .unwrap_or(slug);
                let mut s = story(&e.key, "story", Some(&title));
                s.epic = Some(name(epic));
                let accept = facts
                    .as_ref()
                    .map(|f| f.accept.clone())
                    .filter(|a| !a.is_empty())
                    .unwrap_or(planned_accept);
                s.accept = accept.iter().map(|a| text_of(a)).collect();
                s.file = found.as_deref().map(text_of);
                let mut progress = sprint;
                if let Some(p) = facts.and_then(|f| f.progress)
                    && p.may_replace(progress)
                {
                    progress = p;
                }
                let id_at = Span::new(file, e.key_at.start, e.key_at.end);
                let mut after_at = Vec::new();
                if let Some(before) = stories.last() {
                    s.after.push(before.story.id.clone());
                    after_at.push(id_at);
                }
                let epic_key = format!("epic-{epic}");
                stories.push(ProjectStory {
                    story: s,
                    progress,
                    gates: Vec::new(),
                    place: Some(StatusPlace {
                        file: status.to_string(),
                        kind: PlaceKind::SprintKey {
                            key: e.key.clone(),
                            epic: entries
                                .iter()
                                .any(|x| x.key == epic_key)
                                .then_some(epic_key),
                        },
                    }),
                    id_at,
                    after_at,
                });
            }
            Key::Retrospective | Key::Other => {}
        }
    }
    stories
}

/// `a/b/../c` as `a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_told_apart() {
        assert_eq!(story_numbers("1-2-user-auth"), Some(("1", "2")));
        assert_eq!(story_numbers("2-6a-split"), Some(("2", "6a")));
        assert_eq!(story_numbers("epic-1"), None);
        assert_eq!(story_numbers("1-2"), None);
        assert!(matches!(classify("epic-1"), Key::Epic));
        assert!(matches!(
            classify("epic-1-retrospective"),
            Key::Retrospective
        ));
        assert!(matches!(classify("epic-1-retro-item-2-x"), Key::Other));
        assert_eq!(
            normalize("a/impl/../planning/epics.md"),
            "a/planning/epics.md"
        );
    }

    #[test]
    fn epics_md_gives_titles_and_criteria() {
        let md = "## Epic 1: Accounts\n\n### Story 1.1: User Authentication\n\nAs a user...\n\n**Acceptance Criteria:**\n\n- Sign in works\n- Bad passwords are refused\n\n### Story 1.2: Account Management\n\n## Epic 2: Fun\n";
        let got = from_epics(md);
        assert_eq!(got["1-1"].0, "User Authentication");
        assert_eq!(got["1-1"].1, ["Sign in works", "Bad passwords are refused"]);
        assert_eq!(got["1-2"].0, "Account Management");
        assert!(got["1-2"].1.is_empty());
    }
}
