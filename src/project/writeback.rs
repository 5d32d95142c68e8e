//! A status written back into a BMAD project's file as a run moves: the new text of the
//! file, computed from the text it has now (a person may have edited it), with one value
//! changed and everything else (comments, custom keys, the body) as it was. A status only
//! moves forward; the format's own rules come along (a v6 epic starts with its first
//! story and ends with its last, `last_updated` is kept current; a v7 plan that is
//! missing is made, frontmatter only, as `tickets.py mark` does).

use super::status::{Progress, Vocabulary};
use super::text::{block_entries, field, replace_value, set_field, single_quoted, top_entry};

/// Where a story's status is written.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPlace {
    /// The file, relative to the workspace.
    pub file: String,
    /// What in it.
    pub kind: PlaceKind,
}

/// What holds a status in its file.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceKind {
    /// A story key of `sprint-status.yaml`'s `development_status`, and its epic's key.
    SprintKey {
        /// The story's key (`1-2-account-management`).
        key: String,
        /// Its epic's key (`epic-1`), when the file has one.
        epic: Option<String>,
    },
    /// The `status` of a markdown file's frontmatter (a v6 spec or stories-mode story
    /// file, a v7 plan).
    Frontmatter {
        /// Its words.
        vocabulary: Vocabulary,
        /// The plan to make when the file is not there (v7).
        new_plan: Option<NewPlan>,
    },
}

/// A v7 plan to make for a ticket that has none.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    /// The ticket's title.
    pub title: String,
    /// The ticket's id, as TOML wrote it (`4`, or a quoted alphanumeric id).
    pub ticket: String,
    /// The plan's `type`: `bugfix` for a bug, else `feature`.
    pub plan_type: &'static str,
}

/// A move to write: where to, why (for `blocked`), and the time in the two forms the
/// formats write (`05-06-2025 21:30` for v6's `last_updated`, RFC 3339 for a plan's
/// `blocked_at`).
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    /// The status to move to.
    pub to: Progress,
    /// Why, when the story is blocked.
    pub reason: Option<&'a str>,
    /// The time as v6 writes it.
    pub sprint_time: &'a str,
    /// The time as RFC 3339.
    pub iso_time: &'a str,
}

/// Why a status cannot be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteBackError {
    /// The status file is gone.
    #[error("`{file}` is not there any more")]
    NoFile {
        /// The file.
        file: String,
    },
    /// The story's key is gone from the file.
    #[error("`{file}` has no `{key}` any more")]
    NoKey {
        /// The file.
        file: String,
        /// The key.
        key: String,
    },
    /// The file holds a status the format does not have (a person's edit).
    #[error("`{file}` says `{word}` for `{key}`, which is no status of its format ({})", words.join(", "))]
    UnknownStatus {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What it says.
        word: String,
        /// What it may say.
        words: &'static [&'static str],
    },
    /// A markdown file without frontmatter.
    #[error("`{file}` has no YAML frontmatter to hold a status")]
    NoFrontmatter {
        /// The file.
        file: String,
    },
}

/// The new text of the place's file, `current` being its text now (`None`: no file), for
/// `mv`; `Ok(None)` when nothing changes (the status is there already, or past it, or the
/// format has no word for it).
///
/// # Errors
///
/// When the file, or the story's key in it, is gone, or it holds an unknown status.
pub fn advance(
    place: &StatusPlace,
    current: Option<&str>,
    mv: &Move,
) -> Result<Option<String>, WriteBackError> {
    let file = || place.file.clone();
    match &place.kind {
        PlaceKind::SprintKey { key, epic } => {
            let text = current.ok_or_else(|| WriteBackError::NoFile { file: file() })?;
            sprint(text, &place.file, key, epic.as_deref(), mv)
        }
        PlaceKind::Frontmatter {
            vocabulary,
            new_plan,
        } => match (current, new_plan) {
            (Some(text), _) => frontmatter(text, &place.file, *vocabulary, mv),
            (None, Some(plan)) => Ok(vocabulary.word(mv.to).map(|word| {
                let mut text = format!(
                    "---\ntitle: {}\ntype: '{}'\nticket: {}\nstatus: '{word}'\n---\n",
                    single_quoted(&plan.title),
                    plan.plan_type,
                    plan.ticket
                );
                if mv.to == Progress::Blocked {
                    text = blocked(&text, mv);
                }
                text
            })),
            (None, None) => Err(WriteBackError::NoFile { file: file() }),
        },
    }
}

/// How far the story at `place` has come as `text` (its file now) says; `None` when the
/// file does not say (the key or the status is gone, or it is a word the format lacks).
pub fn progress_in(place: &StatusPlace, text: &str) -> Option<Progress> {
    match &place.kind {
        PlaceKind::SprintKey { key, .. } => block_entries(text, "development_status")
            .into_iter()
            .find(|e| e.key == *key)
            .and_then(|e| Vocabulary::Sprint.parse(&e.value)),
        PlaceKind::Frontmatter { vocabulary, .. } => {
            field(text, "status").and_then(|e| vocabulary.parse(&e.value))
        }
    }
}

/// `text` with `key` of `development_status` moved to `word` if that is forward.
fn sprint_key(
    text: &str,
    file: &str,
    key: &str,
    vocabulary: Vocabulary,
    to: Progress,
) -> Result<Option<String>, WriteBackError> {
    let entries = block_entries(text, "development_status");
    let e = entries
        .iter()
        .find(|e| e.key == key)
        .ok_or_else(|| WriteBackError::NoKey {
            file: file.to_string(),
            key: key.to_string(),
        })?;
    let now = vocabulary
        .parse(&e.value)
        .ok_or_else(|| WriteBackError::UnknownStatus {
            file: file.to_string(),
            key: key.to_string(),
            word: e.value.clone(),
            words: vocabulary.words(),
        })?;
    Ok(vocabulary
        .word(to)
        .filter(|_| to.may_replace(now))
        .map(|word| replace_value(text, &e.value_at, word)))
}

/// The v6 move: the story's key, then its epic (in progress with its first story, done
/// with its last), then `last_updated`.
fn sprint(
    text: &str,
    file: &str,
    key: &str,
    epic: Option<&str>,
    mv: &Move,
) -> Result<Option<String>, WriteBackError> {
    let story = sprint_key(text, file, key, Vocabulary::Sprint, mv.to)?;
    let mut out = story.clone().unwrap_or_else(|| text.to_string());
    // The epic follows its stories even when this one was moved already (by a person).
    let moves_epic = matches!(
        mv.to,
        Progress::InProgress | Progress::Review | Progress::Done
    );
    if let Some(epic) = epic.filter(|_| moves_epic) {
        let number = epic.trim_start_matches("epic-");
        let prefix = format!("{number}-");
        let all_done = block_entries(&out, "development_status")
            .iter()
            .filter(|e| e.key.starts_with(&prefix) && super::v6_sprint::is_story_key(&e.key))
            .all(|e| Vocabulary::Sprint.parse(&e.value) == Some(Progress::Done));
        let epic_to = if all_done {
            Progress::Done
        } else {
            Progress::InProgress
        };
        // An epic whose status a person made unknown is left as it is.
        if let Ok(Some(moved)) = sprint_key(&out, file, epic, Vocabulary::SprintEpic, epic_to) {
            out = moved;
        }
    }
    if story.is_none() && out == text {
        return Ok(None);
    }
    if let Some(e) = top_entry(&out, "last_updated") {
        out = replace_value(&out, &e.value_at, mv.sprint_time);
    }
    Ok(Some(out))
}

/// `text` with its frontmatter `status` moved forward.
fn frontmatter(
    text: &str,
    file: &str,
    vocabulary: Vocabulary,
    mv: &Move,
) -> Result<Option<String>, WriteBackError> {
    let no_frontmatter = || WriteBackError::NoFrontmatter {
        file: file.to_string(),
    };
    super::text::frontmatter(text).ok_or_else(no_frontmatter)?;
    let now = match field(text, "status") {
        Some(e) => vocabulary
            .parse(&e.value)
            .ok_or_else(|| WriteBackError::UnknownStatus {
                file: file.to_string(),
                key: "status".into(),
                word: e.value.clone(),
                words: vocabulary.words(),
            })?,
        None => Progress::Backlog,
    };
    let Some(word) = vocabulary.word(mv.to).filter(|_| mv.to.may_replace(now)) else {
        return Ok(None);
    };
    let mut out = set_field(text, "status", word).ok_or_else(no_frontmatter)?;
    if vocabulary == Vocabulary::Plan {
        if mv.to == Progress::Blocked {
            out = blocked(&out, mv);
        } else if now == Progress::Blocked {
            for key in ["blocked_at", "blocked_reason"] {
                if let Some(e) = field(&out, key) {
                    out = replace_value(&out, &e.value_at, "");
                }
            }
        }
    }
    Ok(Some(out))
}

/// A plan with `blocked_at` and `blocked_reason` set.
fn blocked(text: &str, mv: &Move) -> String {
    let with_at = set_field(text, "blocked_at", mv.iso_time).unwrap_or_else(|| text.to_string());
    set_field(&with_at, "blocked_reason", mv.reason.unwrap_or("")).unwrap_or(with_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(to: Progress) -> Move<'static> {
        Move {
            to,
            reason: Some("the tests fail"),
            sprint_time: "12-01-2026 10:00",
            iso_time: "2026-12-01T10:00:00Z",
        }
    }

    const SPRINT: &str = "# STATUS DEFINITIONS kept\ngenerated: 05-06-2025 21:30\nlast_updated: 05-06-2025 21:30\ndevelopment_status:\n  epic-1: backlog # epic\n  1-1-auth: done\n  1-2-acct: ready-for-dev   # mine\n  epic-1-retrospective: optional\n  epic-2: backlog\n  2-1-x: backlog\n";

    fn sprint_place(key: &str, epic: &str) -> StatusPlace {
        StatusPlace {
            file: "sprint-status.yaml".into(),
            kind: PlaceKind::SprintKey {
                key: key.into(),
                epic: Some(epic.into()),
            },
        }
    }

    #[test]
    fn a_sprint_story_moves_forward_with_its_epic_and_keeps_the_rest() {
        let place = sprint_place("1-2-acct", "epic-1");
        let started = advance(&place, Some(SPRINT), &mv(Progress::InProgress))
            .unwrap()
            .unwrap();
        assert!(
            started.contains("  1-2-acct: in-progress   # mine\n"),
            "{started}"
        );
        assert!(
            started.contains("  epic-1: in-progress # epic\n"),
            "{started}"
        );
        assert!(
            started.contains("last_updated: 12-01-2026 10:00\n"),
            "{started}"
        );
        assert!(
            started.contains("generated: 05-06-2025 21:30\n"),
            "{started}"
        );
        assert!(started.starts_with("# STATUS DEFINITIONS kept\n"));
        // Never backwards.
        let review = advance(&place, Some(&started), &mv(Progress::Review))
            .unwrap()
            .unwrap();
        assert_eq!(
            advance(&place, Some(&review), &mv(Progress::InProgress)).unwrap(),
            None
        );
        // v6 has no blocked.
        assert_eq!(
            advance(&place, Some(&review), &mv(Progress::Blocked)).unwrap(),
            None
        );
        let done = advance(&place, Some(&review), &mv(Progress::Done))
            .unwrap()
            .unwrap();
        assert!(done.contains("  epic-1: done # epic\n"), "{done}");
        assert!(done.contains("  epic-2: backlog\n"), "{done}");
    }

    #[test]
    fn the_progress_a_file_says_now_is_read() {
        let place = sprint_place("1-1-auth", "epic-1");
        assert_eq!(progress_in(&place, SPRINT), Some(Progress::Done));
        assert_eq!(progress_in(&sprint_place("9-9-x", "epic-9"), SPRINT), None);
    }

    #[test]
    fn a_person_s_unknown_status_or_removed_key_is_an_error() {
        let place = sprint_place("1-2-acct", "epic-1");
        let odd = SPRINT.replace("1-2-acct: ready-for-dev", "1-2-acct: wip");
        let err = advance(&place, Some(&odd), &mv(Progress::Done)).unwrap_err();
        assert!(err.to_string().contains("says `wip`"), "{err}");
        let gone = sprint_place("9-9-gone", "epic-9");
        assert!(matches!(
            advance(&gone, Some(SPRINT), &mv(Progress::Done)),
            Err(WriteBackError::NoKey { .. })
        ));
    }

    #[test]
    fn a_plan_is_made_moved_and_blocked() {
        let place = StatusPlace {
            file: "epic-a/story-x-plan.md".into(),
            kind: PlaceKind::Frontmatter {
                vocabulary: Vocabulary::Plan,
                new_plan: Some(NewPlan {
                    title: "Cart's scaffold".into(),
                    ticket: "4".into(),
                    plan_type: "feature",
                }),
            },
        };
        let made = advance(&place, None, &mv(Progress::InProgress))
            .unwrap()
            .unwrap();
        assert_eq!(
            made,
            "---\ntitle: 'Cart''s scaffold'\ntype: 'feature'\nticket: 4\nstatus: 'in-progress'\n---\n"
        );
        let blocked = advance(&place, Some(&made), &mv(Progress::Blocked))
            .unwrap()
            .unwrap();
        assert!(blocked.contains("status: 'blocked'\n"), "{blocked}");
        assert!(
            blocked.contains("blocked_reason: 'the tests fail'\n"),
            "{blocked}"
        );
        assert!(
            blocked.contains("blocked_at: '2026-12-01T10:00:00Z'\n"),
            "{blocked}"
        );
        let again = advance(&place, Some(&blocked), &mv(Progress::InProgress))
            .unwrap()
            .unwrap();
        assert!(again.contains("blocked_reason: ''\n"), "{again}");
        let done = advance(&place, Some(&again), &mv(Progress::Done))
            .unwrap()
            .unwrap();
        assert!(done.contains("status: 'done'\n"), "{done}");
        assert_eq!(
            advance(&place, Some(&done), &mv(Progress::Review)).unwrap(),
            None
        );
    }
}
