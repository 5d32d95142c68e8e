//! Failures that are no fault of the task: a coding CLI's service said it is rate limited,
//! overloaded, or out of credit. They are retried with back-off (the first two) or pause
//! the run (all three, once retrying does not help); they never count as a story's
//! attempts.

/// A failure of the service behind an agent, not of the agent's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// Too many requests (HTTP 429, `rate_limit_error`, `RESOURCE_EXHAUSTED`).
    RateLimited,
    /// The service is overloaded or unavailable (HTTP 529 or 503, `overloaded_error`).
    Overloaded,
    /// The account has no credit or quota left: retrying cannot help.
    OutOfCredit,
    /// What runs the agent elsewhere cannot be reached (a Temporal server down): no fault
    /// of the task, which waits and tries again, then pauses the run.
    Unreachable,
}

impl Transient {
    /// Whether waiting and trying again can help.
    pub fn retries(self) -> bool {
        !matches!(self, Transient::OutOfCredit)
    }
}

impl std::fmt::Display for Transient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transient::RateLimited => "rate limited",
            Transient::Overloaded => "overloaded",
            Transient::OutOfCredit => "out of credit",
            Transient::Unreachable => "unreachable",
        })
    }
}

impl Transient {
    /// The refusal shown as `name` (as [`Display`](std::fmt::Display) shows it).
    pub fn named(name: &str) -> Option<Transient> {
        [
            Transient::RateLimited,
            Transient::Overloaded,
            Transient::OutOfCredit,
            Transient::Unreachable,
        ]
        .into_iter()
        .find(|t| t.to_string() == name)
    }
}

/// How a task its service refused is tried again: up to `retries` more times, waiting
/// `first`, then twice as long each time (settings `transient_retries`, 3, and
/// `transient_backoff`, 30s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries after the first.
    pub retries: u64,
    /// The first wait.
    pub first: std::time::Duration,
}

impl Backoff {
    /// The longest wait between two tries.
    const MOST: std::time::Duration = std::time::Duration::from_secs(15 * 60);
    /// The most tries after the first: a service still refusing after them pauses the run
    /// (a setting above it is held to it).
    pub const MOST_RETRIES: u64 = 100;

    /// The back-off `program`'s settings ask for.
    pub fn of(program: &crate::ir::Program) -> Backoff {
        use crate::model::literal::Value;
        let retries = match program.setting_value("transient_retries") {
            // A count literal is a whole number, not negative.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(Value::Count(n)) => (n.round() as u64).min(Self::MOST_RETRIES),
            _ => 3,
        };
        let first = match program.setting_value("transient_backoff") {
            Some(Value::Duration(ms)) => std::time::Duration::from_millis(ms),
            _ => std::time::Duration::from_secs(30),
        };
        Backoff { retries, first }
    }

    /// The wait before try `n` after the first (from 0): doubling, at most 15 minutes.
    pub fn wait(self, n: u64) -> std::time::Duration {
        let factor = 1u32 << n.min(16);
        self.first.saturating_mul(factor).min(Self::MOST)
    }
}

/// What a CLI's error says, classified; `None` for an error of the task itself.
pub fn classify(error: &str) -> Option<Transient> {
    let e = error.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| e.contains(w));
    if any(&[
        "credit balance",
        "insufficient_quota",
        "exceeded your current quota",
        "billing",
        "out of credit",
    ]) {
        Some(Transient::OutOfCredit)
    } else if any(&[
        "rate limit",
        "rate_limit",
        "ratelimit",
        "too many requests",
        "resource_exhausted",
        " 429",
        "status 429",
    ]) {
        Some(Transient::RateLimited)
    } else if any(&[
        "overloaded",
        " 529",
        "status 529",
        " 503",
        "service unavailable",
        "temporarily unavailable",
    ]) {
        Some(Transient::Overloaded)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clis_words_for_a_service_that_refuses_are_told_apart_from_a_tasks_failure() {
        let cases = [
            (
                "Claude Code reported error (API status 429): API Error: 429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}",
                Some(Transient::RateLimited),
            ),
            (
                "Claude Code reported error: API Error: 529 {\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}",
                Some(Transient::Overloaded),
            ),
            (
                "Claude Code reported error: Credit balance is too low",
                Some(Transient::OutOfCredit),
            ),
            (
                "Codex reported an error: exceeded retry limit, last status: 429 Too Many Requests",
                Some(Transient::RateLimited),
            ),
            (
                "Codex reported an error: You exceeded your current quota, please check your plan and billing details.",
                Some(Transient::OutOfCredit),
            ),
            (
                "Gemini CLI reported an error: [API Error: RESOURCE_EXHAUSTED: Quota exceeded for quota metric]",
                Some(Transient::RateLimited),
            ),
            ("Codex reported an error: the tests failed", None),
            (
                "Gemini CLI reported an error: file not found: src/4290.rs",
                None,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(classify(text), expected, "{text}");
        }
        assert!(!Transient::OutOfCredit.retries());
        assert!(Transient::RateLimited.retries());
    }
}
