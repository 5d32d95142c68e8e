//! How a verdict step's agent approves or rejects: its exit code, and a structured verdict
//! line in its output (`VERDICT: approved`, `VERDICT: rejected: <why>`), which lets an agent
//! that always exits 0 (a coding CLI) reject. The last verdict line decides; an agent that
//! exits non-zero never approves.

/// What a verdict line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// `VERDICT: approved` (or approve, pass, passed, accept, accepted, lgtm).
    Approved,
    /// `VERDICT: rejected` (or reject, fail, failed, changes requested), with the reason
    /// written after it on the line, if any.
    Rejected(String),
}

/// The words that approve and reject after `VERDICT:`, lower case.
const APPROVE: &[&str] = &[
    "approved", "approve", "passed", "pass", "accepted", "accept", "lgtm",
];
const REJECT: &[&str] = &[
    "rejected",
    "reject",
    "failed",
    "fail",
    "changes requested",
    "changes_requested",
];

/// Markdown marks an agent may wrap the line in (`**VERDICT:** approved`, `` `...` ``).
fn unmark(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '_' | '`' | '#' | '>' | '-'))
}

/// The verdict of one line, if it is a verdict line.
fn line_verdict(line: &str) -> Option<Said> {
    let line = unmark(line);
    let head = line.get(..7)?;
    if !head.eq_ignore_ascii_case("verdict") {
        return None;
    }
    let rest = unmark(line[7..].trim_start().strip_prefix(':')?);
    let lower = rest.to_ascii_lowercase();
    let word_at = |w: &&str| {
        lower.starts_with(*w)
            && !lower[w.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
    };
    if APPROVE.iter().any(word_at) {
        return Some(Said::Approved);
    }
    let w = REJECT.iter().find(|w| word_at(w))?;
    let reason = unmark(rest[w.len()..].trim_start_matches([':', ' ', '-', '.', ',']));
    Some(Said::Rejected(reason.to_string()))
}

/// The last verdict line of `output`, if it has one.
pub fn verdict_line(output: &str) -> Option<Said> {
    output.lines().rev().find_map(line_verdict)
}

/// `output` without its verdict lines.
pub fn without_verdict(output: &str) -> String {
    output
        .lines()
        .filter(|l| line_verdict(l).is_none())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `n` lines of `text`, trimmed of blank ends.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .join("\n")
        .trim_start_matches('\n')
        .to_string()
}

/// Lines of an agent's own output given back as a verdict's feedback.
pub const FEEDBACK_LINES: usize = 20;

/// The outcome of a verdict agent that ended with `success` (exit code 0) and printed
/// `stdout` and `stderr`: whether it approved, and its feedback in its own words (the
/// verdict line's reason first, then the end of what it printed).
pub fn judge(success: bool, stdout: &str, stderr: &str) -> (bool, String) {
    let said = verdict_line(stdout);
    let approved = success && !matches!(said, Some(Said::Rejected(_)));
    let mut feedback = String::new();
    if let Some(Said::Rejected(why)) = &said
        && !why.is_empty()
    {
        feedback.push_str(why);
    }
    for text in [stdout, stderr] {
        let rest = last_lines(&without_verdict(text), FEEDBACK_LINES);
        if !rest.is_empty() && !feedback.contains(&rest) {
            if !feedback.is_empty() {
                feedback.push('\n');
            }
            feedback.push_str(&rest);
        }
    }
    (approved, feedback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_verdict_line_decides_in_any_case_and_markup() {
        assert_eq!(
            verdict_line("work\nVERDICT: approved\n"),
            Some(Said::Approved)
        );
        assert_eq!(verdict_line("**Verdict:** LGTM"), Some(Said::Approved));
        assert_eq!(
            verdict_line("VERDICT: approved\n`verdict: rejected: the test of x fails`"),
            Some(Said::Rejected("the test of x fails".into()))
        );
        assert_eq!(
            verdict_line("verdict: Changes requested - add a test"),
            Some(Said::Rejected("add a test".into()))
        );
        assert_eq!(verdict_line("the verdict is in: approved"), None);
        assert_eq!(verdict_line("VERDICT: approvedish"), None);
        assert_eq!(verdict_line("VERDICT approved"), None);
        assert_eq!(verdict_line(""), None);
    }

    #[test]
    fn a_failing_exit_never_approves_and_feedback_is_the_agents_words() {
        let (ok, fb) = judge(false, "1 failed, 3 passed\n", "");
        assert!(!ok);
        assert_eq!(fb, "1 failed, 3 passed");
        let (ok, fb) = judge(false, "VERDICT: approved\n", "boom\n");
        assert!(!ok);
        assert_eq!(fb, "boom");
        let (ok, fb) = judge(true, "looked at it\nVERDICT: rejected: no test for b\n", "");
        assert!(!ok);
        assert_eq!(fb, "no test for b\nlooked at it");
        let (ok, fb) = judge(true, "all good\n", "");
        assert!(ok);
        assert_eq!(fb, "all good");
    }
}
