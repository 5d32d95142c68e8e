//! Story statuses in BMAD's own words: each file that holds a status has its vocabulary
//! (a v6 `sprint-status.yaml`, a v6 spec or story file, a v7 plan), read into one
//! [`Progress`] and written back only forward ("preserve, never downgrade").

use serde::Serialize;

/// How far a story has come, whatever file says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Progress {
    /// Not started (`backlog`, `draft`, or no status at all).
    Backlog,
    /// Ready to start (`ready-for-dev`; legacy `drafted`).
    Ready,
    /// Being built (`in-progress`; legacy `contexted`).
    InProgress,
    /// Stopped by a problem (v7 `blocked`).
    Blocked,
    /// Built, waiting for or under review (`review`, `in-review`, v7 `built`): its
    /// dependents may start.
    Review,
    /// Finished: not run again.
    Done,
    /// Given up (v7 `dropped`): not run, and what depends on it stays blocked.
    Dropped,
}

impl Progress {
    /// The order statuses only move forward in (blocked stands beside in-progress).
    fn rank(self) -> u8 {
        match self {
            Progress::Backlog => 0,
            Progress::Ready => 1,
            Progress::InProgress | Progress::Blocked => 2,
            Progress::Review => 3,
            Progress::Done => 4,
            Progress::Dropped => 5,
        }
    }

    /// Whether a story at `current` may be moved to `self`: only forward, or between
    /// in-progress and blocked (a blocked story tried again, an attempt that stops).
    pub fn may_replace(self, current: Progress) -> bool {
        self.rank() > current.rank()
            || (self != current
                && self.rank() == current.rank()
                && matches!(self, Progress::InProgress | Progress::Blocked))
    }
}

/// The words a file writes statuses in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Vocabulary {
    /// A v6 `sprint-status.yaml` story key: backlog | ready-for-dev | in-progress |
    /// review | done (legacy drafted, contexted).
    Sprint,
    /// A v6 `sprint-status.yaml` epic key: backlog | in-progress | done.
    SprintEpic,
    /// The frontmatter of a v6 spec or a stories-mode story file: draft | ready-for-dev |
    /// in-progress | in-review | done.
    Spec,
    /// A v7 plan's frontmatter: draft | ready-for-dev | in-progress | in-review | built |
    /// done | blocked | dropped.
    Plan,
}

impl Vocabulary {
    /// Every word of the vocabulary, for a diagnostic's help.
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Vocabulary::Sprint => &["backlog", "ready-for-dev", "in-progress", "review", "done"],
            Vocabulary::SprintEpic => &["backlog", "in-progress", "done"],
            Vocabulary::Spec => &["draft", "ready-for-dev", "in-progress", "in-review", "done"],
            Vocabulary::Plan => &[
                "draft",
                "ready-for-dev",
                "in-progress",
                "in-review",
                "built",
                "done",
                "blocked",
                "dropped",
            ],
        }
    }

    /// The progress a word means; `None` for a word the vocabulary does not have.
    pub fn parse(self, word: &str) -> Option<Progress> {
        let p = match (self, word.trim()) {
            (Vocabulary::Sprint | Vocabulary::SprintEpic, "backlog")
            | (Vocabulary::Spec | Vocabulary::Plan, "draft" | "") => Progress::Backlog,
            (Vocabulary::Sprint, "ready-for-dev" | "drafted")
            | (Vocabulary::Spec | Vocabulary::Plan, "ready-for-dev") => Progress::Ready,
            (Vocabulary::Sprint | Vocabulary::SprintEpic, "in-progress" | "contexted")
            | (Vocabulary::Spec | Vocabulary::Plan, "in-progress") => Progress::InProgress,
            (Vocabulary::Sprint, "review")
            | (Vocabulary::Spec, "in-review" | "review")
            | (Vocabulary::Plan, "in-review" | "built") => Progress::Review,
            (_, "done") => Progress::Done,
            (Vocabulary::Plan, "blocked") => Progress::Blocked,
            (Vocabulary::Plan, "dropped") => Progress::Dropped,
            _ => return None,
        };
        Some(p)
    }

    /// The word for `progress`; `None` where the format cannot say it (v6 has no
    /// `blocked`): nothing is written then.
    pub fn word(self, progress: Progress) -> Option<&'static str> {
        match (self, progress) {
            (_, Progress::InProgress) => Some("in-progress"),
            (Vocabulary::Sprint, Progress::Review) => Some("review"),
            (Vocabulary::Spec | Vocabulary::Plan, Progress::Review) => Some("in-review"),
            (_, Progress::Done) => Some("done"),
            (Vocabulary::Plan, Progress::Blocked) => Some("blocked"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        assert!(Progress::InProgress.may_replace(Progress::Ready));
        assert!(Progress::Done.may_replace(Progress::Review));
        assert!(!Progress::InProgress.may_replace(Progress::Review));
        assert!(!Progress::Review.may_replace(Progress::Done));
        assert!(!Progress::Done.may_replace(Progress::Done));
        assert!(Progress::Blocked.may_replace(Progress::InProgress));
        assert!(Progress::InProgress.may_replace(Progress::Blocked));
        assert!(!Progress::Blocked.may_replace(Progress::Review));
        assert!(!Progress::Done.may_replace(Progress::Dropped));
    }

    #[test]
    fn each_format_reads_and_writes_its_own_words() {
        assert_eq!(Vocabulary::Sprint.parse("drafted"), Some(Progress::Ready));
        assert_eq!(Vocabulary::Sprint.parse("in-review"), None);
        assert_eq!(Vocabulary::Plan.parse("built"), Some(Progress::Review));
        assert_eq!(Vocabulary::Sprint.word(Progress::Blocked), None);
        assert_eq!(Vocabulary::Plan.word(Progress::Review), Some("in-review"));
        assert_eq!(Vocabulary::Sprint.word(Progress::Review), Some("review"));
    }
}
