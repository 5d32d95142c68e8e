//! The loop state of one story (or of the phase outside a for-each): the attempt, the
//! verdicts of the current attempt, and the feedback the next prompt carries.

use crate::source::Span;
use std::cell::{Cell, RefCell};

/// The loop state of one story (or of the phase outside a for-each).
#[derive(Default)]
pub(super) struct LoopState {
    /// Every verdict of the current attempt approved (and there was one).
    pub(super) approved: Cell<bool>,
    /// The attempt of the innermost loop (`repeat` or `retry`).
    pub(super) attempt: Cell<u64>,
    /// What the verdicts that rejected the last attempt said (the next prompt's feedback).
    pub(super) feedback: RefCell<String>,
    /// Attempts spent before the merge lane sent the story back: its loop of verdicts
    /// goes on from there (see [`super::delivery`]).
    pub(super) carried: Cell<u64>,
    /// The attempt of the loop that holds the story's verdicts (other loops leave it).
    pub(super) verdict_attempt: Cell<u64>,
    /// The verdicts of the current attempt: the task (its agent's place), whether it
    /// approved, what it said.
    pub(super) verdicts: RefCell<Vec<(Span, bool, String)>>,
}

impl LoopState {
    /// Attempt `attempt` of the loop of verdicts begins: no verdict given yet.
    pub(super) fn new_attempt(&self, attempt: u64) {
        self.verdict_attempt.set(attempt);
        self.verdicts.borrow_mut().clear();
    }

    /// A verdict step gave its verdict. `approved` holds while every verdict of the
    /// attempt approved; the feedback is what those that rejected said.
    pub(super) fn verdict(&self, at: Span, ok: bool, said: String) {
        let mut verdicts = self.verdicts.borrow_mut();
        verdicts.retain(|(place, ..)| *place != at);
        verdicts.push((at, ok, said));
        self.approved.set(verdicts.iter().all(|(_, ok, _)| *ok));
        let rejected: Vec<&str> = verdicts
            .iter()
            .filter(|(_, ok, said)| !ok && !said.is_empty())
            .map(|(.., said)| said.as_str())
            .collect();
        *self.feedback.borrow_mut() = if rejected.is_empty() {
            verdicts.last().map_or(String::new(), |(.., s)| s.clone())
        } else {
            rejected.join("\n\n")
        };
    }

    /// Why the story is not approved: its last verdicts rejected it (`None` when they
    /// approved, or it had none).
    pub(super) fn rejected(&self) -> Option<String> {
        let given = !self.verdicts.borrow().is_empty();
        (given && !self.approved.get()).then(|| self.feedback.borrow().clone())
    }

    /// The places of the verdict steps of the current attempt.
    pub(super) fn verdict_places(&self) -> Vec<Span> {
        self.verdicts.borrow().iter().map(|(at, ..)| *at).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::LoopState;
    use crate::source::Span;

    #[test]
    fn an_attempt_is_approved_only_when_every_verdict_of_it_approved() {
        let state = LoopState::default();
        let (qa, tester) = (Span::new(0, 0, 2), Span::new(0, 10, 16));
        assert_eq!(state.rejected(), None, "no verdict yet");
        state.new_attempt(1);
        state.verdict(qa, false, "add a test".into());
        state.verdict(tester, true, "3 passed".into());
        assert!(!state.approved.get());
        assert_eq!(state.rejected().as_deref(), Some("add a test"));
        state.new_attempt(2);
        state.verdict(qa, true, String::new());
        state.verdict(tester, true, "4 passed".into());
        assert!(state.approved.get());
        assert_eq!(state.rejected(), None);
        assert_eq!(state.verdict_places(), [qa, tester]);
        // The same step giving its verdict again replaces its first one.
        state.verdict(tester, false, "flaky".into());
        assert_eq!(state.rejected().as_deref(), Some("flaky"));
    }
}
