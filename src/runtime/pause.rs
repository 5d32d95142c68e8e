//! A run's pause: once a budget is spent or an agent's service keeps refusing, no new task
//! starts; what is in flight finishes and is recorded, and the run ends `paused`, to be
//! continued with `bmad run --resume`.

use std::cell::RefCell;

/// Why the run pauses, once it does (the first reason stands).
#[derive(Debug, Default)]
pub(super) struct Pause {
    reason: RefCell<Option<String>>,
}

impl Pause {
    /// Pauses the run for `reason`, unless it is paused already.
    pub(super) fn set(&self, reason: String) {
        let mut r = self.reason.borrow_mut();
        if r.is_none() {
            *r = Some(reason);
        }
    }

    /// Why the run pauses, when it does.
    pub(super) fn reason(&self) -> Option<String> {
        self.reason.borrow().clone()
    }
}
