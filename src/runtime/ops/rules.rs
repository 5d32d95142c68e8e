//! Monitor rules: when a rule fires. A rule fires when its condition starts to hold, at
//! most once per episode (the condition holding without a break), and never twice within
//! its cooldown: the flapping guard. An episode held back by the cooldown fires when the
//! cooldown ends if the condition still holds.

use crate::model::{ActionKind, Actions, Status};
use std::time::Duration;
use tokio::time::Instant;

/// The firing state of one rule.
#[derive(Debug, Default, Clone)]
pub struct RuleState {
    /// The condition held at the last evaluation.
    holding: bool,
    /// This episode has fired.
    fired: bool,
    /// When the rule last fired.
    last: Option<Instant>,
}

impl RuleState {
    /// Evaluates the rule at `now` with its condition `holds`: true when its actions run.
    pub fn evaluate(&mut self, holds: bool, now: Instant, cooldown: Duration) -> bool {
        if !holds {
            self.holding = false;
            self.fired = false;
            return false;
        }
        self.holding = true;
        let cooled = self.last.is_none_or(|t| now.duration_since(t) >= cooldown);
        if self.fired || !cooled {
            return false;
        }
        self.fired = true;
        self.last = Some(now);
        true
    }
}

/// How bad a breach of a rule with `actions` is when the rule names no level: only alerts
/// make it a warning, anything that acts (heal, scale, escalate, ...) makes it critical.
pub fn default_status(actions: &Actions) -> Status {
    if actions
        .list
        .iter()
        .all(|a| matches!(a.kind, ActionKind::Alert { .. }))
    {
        Status::Warning
    } else {
        Status::Critical
    }
}

/// The status a log pattern of `severity` (a standard severity word or an incident level)
/// gives: low and medium are warnings, anything else (high, critical, a level of the
/// workflow's own) is critical.
pub fn pattern_status(severity: Option<&str>) -> Status {
    match severity {
        Some("low" | "medium" | "info" | "warning") => Status::Warning,
        _ => Status::Critical,
    }
}

/// The worse of two statuses.
pub fn worst(a: Status, b: Status) -> Status {
    if rank(a) >= rank(b) { a } else { b }
}

/// 0 healthy, 1 warning, 2 critical.
pub fn rank(s: Status) -> u8 {
    match s {
        Status::Healthy => 0,
        Status::Warning => 1,
        Status::Critical => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn fires_once_per_episode() {
        let mut r = RuleState::default();
        let t = Instant::now();
        assert!(r.evaluate(true, t, Duration::ZERO));
        assert!(!r.evaluate(true, t + MIN, Duration::ZERO));
        assert!(!r.evaluate(false, t + 2 * MIN, Duration::ZERO));
        assert!(r.evaluate(true, t + 3 * MIN, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn cooldown_holds_back_flapping_then_fires_if_still_bad() {
        let mut r = RuleState::default();
        let t = Instant::now();
        let cool = 10 * MIN;
        assert!(r.evaluate(true, t, cool));
        // Flaps: clears and comes back within the cooldown: held back.
        assert!(!r.evaluate(false, t + MIN, cool));
        assert!(!r.evaluate(true, t + 2 * MIN, cool));
        assert!(!r.evaluate(true, t + 9 * MIN, cool));
        // Still bad when the cooldown ends: fires.
        assert!(r.evaluate(true, t + 10 * MIN, cool));
        assert!(!r.evaluate(true, t + 30 * MIN, cool));
    }

    #[test]
    fn statuses() {
        assert_eq!(pattern_status(Some("medium")), Status::Warning);
        assert_eq!(pattern_status(Some("high")), Status::Critical);
        assert_eq!(pattern_status(None), Status::Critical);
        assert_eq!(worst(Status::Warning, Status::Critical), Status::Critical);
        assert_eq!(worst(Status::Healthy, Status::Warning), Status::Warning);
    }
}
