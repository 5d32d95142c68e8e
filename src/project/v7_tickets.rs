//! A v7 ticket tree: the initiative's `tickets.toml` lists its epics (`[[epic]]`, table
//! order = build order, with epic-level `after` gates), each epic folder's `tickets.toml`
//! its entries (`[[entry]]`: story, spike or bug, with `after`: a bare id is a sibling,
//! `"2.3"` entry 3 of epic 2, `"epic-<slug>"` a whole epic). A ticket's status is in its
//! plan (`<type>-<slug>-plan.md`, joined by its `ticket` field), never in `tickets.toml`
//! or the leaf. Story ids are refs: `<epic id>.<entry id>`.

use super::status::{Progress, Vocabulary};
use super::text;
use super::writeback::{NewPlan, PlaceKind, StatusPlace};
use super::{ProjectStory, Reader, join, name, story, text_of};
use crate::diagnostic::Code;
use crate::source::{FileId, Span};
use std::collections::HashMap;
use std::ops::Range;
use toml_edit::{Document, Table, Value};

/// What an `after` names.
enum Target {
    /// One ticket, by ref.
    Ticket(String),
    /// A whole epic, by id or slug: it must be done.
    Epic(String),
}

/// A dependency as written, with its place.
struct After {
    target: Target,
    at: Span,
}

/// An entry of an epic's `tickets.toml`.
struct Entry {
    id: String,
    raw_id: String,
    kind: String,
    title: Option<String>,
    description: Option<String>,
    verify: Option<String>,
    after: Vec<After>,
    at: Span,
}

/// An epic of the initiative.
struct Epic {
    id: String,
    slug: String,
    after: Vec<After>,
    entries: Vec<Entry>,
}

/// An id written as an integer or a string (`6a`), and as TOML wrote it.
fn id_of(v: &Value) -> Option<(String, String)> {
    match v {
        Value::Integer(i) => Some((i.value().to_string(), i.value().to_string())),
        Value::String(s) => {
            let id = s.value().trim().to_string();
            (!id.is_empty()).then(|| (id.clone(), format!("\"{id}\"")))
        }
        _ => None,
    }
}

/// A string field of a table.
fn string(t: &Table, key: &str) -> Option<String> {
    t.get(key)?.as_str().map(str::to_string)
}

/// The place of a value (or of its table when it has none).
fn place(file: FileId, v: Option<Range<usize>>, or: Option<Range<usize>>) -> Span {
    let r = v.or(or).unwrap_or(0..0);
    Span::new(file, r.start, r.end)
}

/// Parses a `tickets.toml`; a syntax error is reported at its place.
fn parse(r: &mut Reader, path: &str) -> Option<(FileId, Document<String>)> {
    let (file, toml) = r.open(path)?;
    match Document::parse(toml) {
        Ok(doc) => Some((file, doc)),
        Err(e) => {
            let at = e.span().unwrap_or(0..0);
            let message = e.message().to_string();
            r.report(
                Code::ProjectFormat,
                file,
                at,
                format!("`{path}` is not valid TOML: {message}"),
                "here",
                None,
            );
            None
        }
    }
}

/// The `after` list of a table, in `epic` (the id bare ids are siblings in; `None` for an
/// epic's own `after`, where a bare id is an epic).
fn afters(r: &mut Reader, file: FileId, t: &Table, epic: Option<&str>) -> Vec<After> {
    let Some(list) = t.get("after").and_then(|i| i.as_array()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in list {
        let at = place(file, v.span(), None);
        let target = match (v, epic) {
            (Value::Integer(i), Some(e)) => Some(Target::Ticket(format!("{e}.{}", i.value()))),
            (Value::Integer(i), None) => Some(Target::Epic(i.value().to_string())),
            (Value::String(s), _) if s.value().starts_with("epic-") => {
                Some(Target::Epic(s.value().clone()))
            }
            (Value::String(s), Some(_)) if s.value().contains('.') => {
                Some(Target::Ticket(s.value().clone()))
            }
            (Value::String(s), Some(e)) => Some(Target::Ticket(format!("{e}.{}", s.value()))),
            (Value::String(s), None) => Some(Target::Epic(s.value().clone())),
            (Value::InlineTable(it), _) => it
                .get("epic")
                .and_then(id_of)
                .map(|(id, _)| Target::Epic(id)),
            _ => None,
        };
        match target {
            Some(target) => out.push(After { target, at }),
            None => r.report(
                Code::ProjectFormat,
                file,
                at.start as usize..at.end as usize,
                "an `after` entry is an id, `\"<epic>.<id>\"`, `\"epic-<slug>\"` or `{ epic = <id> }`"
                    .into(),
                "not a dependency",
                None,
            ),
        }
    }
    out
}

/// The entries of one epic folder's `tickets.toml`.
fn entries(r: &mut Reader, path: &str, epic: &str) -> Vec<Entry> {
    let Some((file, doc)) = parse(r, path) else {
        return Vec::new();
    };
    let Some(tables) = doc.get("entry").and_then(|i| i.as_array_of_tables()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tables {
        let id_item = t.get("id");
        let at = place(file, id_item.and_then(toml_edit::Item::span), t.span());
        let Some((id, raw_id)) = id_item.and_then(|i| i.as_value()).and_then(id_of) else {
            r.report(
                Code::ProjectFormat,
                file,
                at.start as usize..at.end as usize,
                format!("an entry of `{path}` has no `id`"),
                "this entry",
                Some(
                    "each `[[entry]]` has an `id`: an integer (or alphanumeric, `6a`) never reused"
                        .into(),
                ),
            );
            continue;
        };
        out.push(Entry {
            id,
            raw_id,
            kind: string(t, "type").unwrap_or_else(|| "story".into()),
            title: string(t, "title"),
            description: string(t, "description"),
            verify: string(t, "verify"),
            after: afters(r, file, t, Some(epic)),
            at,
        });
    }
    out
}

/// The leaves and plans of an epic folder: by entry id, the leaf's path and criteria, and
/// the plan's path and progress.
struct Files {
    leaves: HashMap<String, (String, Vec<String>)>,
    plans: HashMap<String, (String, Progress)>,
}

fn files(r: &mut Reader, dir: &str) -> Files {
    let mut found = Files {
        leaves: HashMap::new(),
        plans: HashMap::new(),
    };
    for n in r.files.list(dir) {
        if !super::is_markdown(&n) || n.starts_with("epic-") {
            continue;
        }
        let path = join(dir, &n);
        let Some((file, md)) = r.open(&path) else {
            continue;
        };
        if n.ends_with("-plan.md") {
            let Some(ticket) = text::field(&md, "ticket") else {
                continue;
            };
            let progress = match text::field(&md, "status") {
                None => Progress::Backlog,
                Some(s) => Vocabulary::Plan.parse(&s.value).unwrap_or_else(|| {
                    r.report(
                        Code::UnknownStatus,
                        file,
                        s.value_at.clone(),
                        format!("`{}` is not a plan status", s.value),
                        "unknown status",
                        Some(format!(
                            "a plan's statuses: {}",
                            Vocabulary::Plan.words().join(", ")
                        )),
                    );
                    Progress::Backlog
                }),
            };
            found.plans.entry(ticket.value).or_insert((path, progress));
        } else if let Some(id) = text::field(&md, "id") {
            let accept = text::section_items(&md, |h| h.contains("Acceptance"));
            found.leaves.entry(id.value).or_insert((path, accept));
        }
    }
    found
}

/// A file-name slug of a title.
fn slug(title: &str) -> String {
    let s: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stories of the initiative folder `tree`.
pub(super) fn read(r: &mut Reader, tree: &str) -> Vec<ProjectStory> {
    let path = join(tree, "tickets.toml");
    let Some((file, doc)) = parse(r, &path) else {
        return Vec::new();
    };
    let Some(tables) = doc.get("epic").and_then(|i| i.as_array_of_tables()) else {
        r.report(
            Code::ProjectFormat,
            file,
            0..0,
            format!("`{path}` has no `[[epic]]` tables"),
            "in this file",
            Some("an initiative's tickets.toml lists its epics as `[[epic]]` tables with `id`, `slug` and `title`".into()),
        );
        return Vec::new();
    };
    let mut epics = Vec::new();
    for t in tables {
        let id = t.get("id").and_then(|i| i.as_value()).and_then(id_of);
        let (Some((id, _)), Some(slug)) = (id, string(t, "slug")) else {
            let at = place(file, t.span(), None);
            r.report(
                Code::ProjectFormat,
                file,
                at.start as usize..at.end as usize,
                format!("an epic of `{path}` lacks its `id` or `slug`"),
                "this epic",
                Some("each `[[epic]]` has an `id` and a `slug` (its folder, `epic-<slug>`)".into()),
            );
            continue;
        };
        let after = afters(r, file, t, None);
        let folder = join(tree, &slug);
        let list = join(&folder, "tickets.toml");
        if r.files.read(&list).ok().flatten().is_none() {
            let at = t
                .get("slug")
                .and_then(toml_edit::Item::span)
                .unwrap_or(0..0);
            r.report(
                Code::ProjectFormat,
                file,
                at,
                format!("epic `{slug}` has no `{list}`"),
                "its folder has no tickets.toml",
                None,
            );
        }
        let entries = entries(r, &list, &id);
        epics.push(Epic {
            id,
            slug,
            after,
            entries,
        });
    }
    // Every ticket of each epic, by the epic's id and slug.
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for e in &epics {
        let refs: Vec<String> = e
            .entries
            .iter()
            .map(|x| format!("{}.{}", e.id, x.id))
            .collect();
        members.insert(e.id.clone(), refs.clone());
        members.insert(e.slug.clone(), refs);
    }
    let mut stories = Vec::new();
    for e in &epics {
        let folder = join(tree, &e.slug);
        let found = files(r, &folder);
        for x in &e.entries {
            let id = format!("{}.{}", e.id, x.id);
            let mut s = story(&id, &x.kind, x.title.as_deref());
            s.epic = Some(name(&e.id));
            s.description = x.description.as_deref().map(text_of);
            let leaf = found.leaves.get(&x.id);
            // The leaf, or else the plan, is what the agent reads.
            s.file = leaf
                .map(|(p, _)| p)
                .or(found.plans.get(&x.id).map(|(p, _)| p))
                .map(|p| text_of(p));
            s.accept = x.verify.iter().map(|v| text_of(v)).collect();
            if let Some((_, accept)) = leaf {
                s.accept.extend(accept.iter().map(|a| text_of(a)));
            }
            let mut gates = Vec::new();
            let mut after_at = Vec::new();
            for a in x.after.iter().chain(&e.after) {
                match &a.target {
                    Target::Ticket(t) if s.after.iter().any(|x| x.name == *t) => {}
                    Target::Ticket(t) => {
                        s.after.push(name(t));
                        after_at.push(a.at);
                    }
                    Target::Epic(ep) => {
                        if let Some(refs) = members.get(ep) {
                            for m in refs.iter().filter(|m| **m != id) {
                                if !s.after.iter().any(|x| x.name == *m) {
                                    s.after.push(name(m));
                                    after_at.push(a.at);
                                }
                                gates.push(m.clone());
                            }
                        } else {
                            s.after.push(name(ep));
                            after_at.push(a.at);
                        }
                    }
                }
            }
            let (plan, progress) = if let Some((p, progress)) = found.plans.get(&x.id) {
                (p.clone(), *progress)
            } else {
                let stem = leaf.map_or_else(
                    || format!("{}-{}", x.kind, slug(x.title.as_deref().unwrap_or(&id))),
                    |(p, _)| {
                        let file = p.rsplit('/').next().unwrap_or(p);
                        file.trim_end_matches(".md").to_string()
                    },
                );
                (join(&folder, &format!("{stem}-plan.md")), Progress::Backlog)
            };
            let new_plan = Some(NewPlan {
                title: x.title.clone().unwrap_or_else(|| id.clone()),
                ticket: x.raw_id.clone(),
                plan_type: if x.kind == "bug" { "bugfix" } else { "feature" },
            });
            stories.push(ProjectStory {
                story: s,
                progress,
                gates,
                place: Some(StatusPlace {
                    file: plan,
                    kind: PlaceKind::Frontmatter {
                        vocabulary: Vocabulary::Plan,
                        new_plan,
                    },
                }),
                id_at: x.at,
                after_at,
            });
        }
    }
    stories
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_make_file_slugs() {
        assert_eq!(
            slug("Apply and refuse discount codes!"),
            "apply-and-refuse-discount-codes"
        );
    }
}
