//! What a run's report says of money and people: what it spent against its budget (and
//! the tokens no price covered), the approvals it waited for and how long, and why it
//! paused.

use super::budget::{Ledger, dollars};
use super::event::{Event, EventKind};
use serde::Serialize;
use std::fmt::Write;

/// What the run spent against its budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetReport {
    /// US dollars spent (reported by the CLIs, or priced from their tokens).
    pub spent_usd: f64,
    /// The run's money ceiling.
    pub limit_usd: Option<f64>,
    /// Tokens spent (cache reads at a tenth).
    pub spent_tokens: f64,
    /// The run's token ceiling.
    pub limit_tokens: Option<f64>,
    /// Agents whose tokens had no cost (no price for their model), with their tokens.
    pub unpriced: Vec<(String, f64)>,
}

impl BudgetReport {
    /// The report of `ledger`, when the run has a budget.
    pub fn of(ledger: &Ledger) -> Option<BudgetReport> {
        if !ledger.bounded() {
            return None;
        }
        let spent = ledger.spent();
        let limit = ledger.run_limit();
        Some(BudgetReport {
            spent_usd: spent.usd,
            limit_usd: limit.usd,
            spent_tokens: spent.tokens,
            limit_tokens: limit.tokens,
            unpriced: ledger.unpriced(),
        })
    }

    /// Lines for people.
    pub fn lines(&self) -> String {
        let mut out = format!("budget        {} spent", dollars(self.spent_usd));
        if let Some(l) = self.limit_usd {
            let _ = write!(out, " of {}", dollars(l));
        }
        let _ = write!(out, ", {:.0} tokens", self.spent_tokens);
        if let Some(l) = self.limit_tokens {
            let _ = write!(out, " of {l:.0}");
        }
        out.push('\n');
        for (agent, tokens) in &self.unpriced {
            let _ = writeln!(
                out,
                "  agent {agent}: {tokens:.0} tokens with no price (not counted in money)"
            );
        }
        out
    }
}

/// An approval the run waited for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waited {
    /// What was approved.
    pub target: String,
    /// How long the run waited, in milliseconds (until the run's end when unanswered).
    pub waited_ms: u64,
    /// Approved, rejected, or not answered.
    pub approved: Option<bool>,
    /// Who answered.
    pub by: Option<String>,
}

/// People in the run: approvals and pauses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PeopleReport {
    /// Each approval the run asked for, in order.
    pub approvals: Vec<Waited>,
    /// Time spent waiting for people, in all (waits that overlap count once each).
    pub waited_ms: u64,
    /// Why the run paused, each time it did.
    pub pauses: Vec<String>,
}

impl PeopleReport {
    /// The approvals and pauses of `events`; `end_ms` ends the waits still open.
    pub fn of(events: &[Event], end_ms: u64) -> PeopleReport {
        let mut r = PeopleReport::default();
        let mut open: Vec<(usize, u64)> = Vec::new();
        for e in events {
            match &e.kind {
                EventKind::ApprovalAsked { target, .. } => {
                    open.push((r.approvals.len(), e.at_ms));
                    r.approvals.push(Waited {
                        target: target.clone(),
                        waited_ms: 0,
                        approved: None,
                        by: None,
                    });
                }
                EventKind::ApprovalAnswered {
                    target,
                    approved,
                    by,
                    waited_ms,
                    ..
                } => {
                    let asked = open
                        .iter()
                        .position(|(i, _)| r.approvals[*i].target == *target)
                        .map(|k| open.remove(k));
                    // Asked in a segment killed before its question reached the log: the
                    // answer alone says it waited.
                    let (i, asked_ms) = asked.unwrap_or_else(|| {
                        r.approvals.push(Waited {
                            target: target.clone(),
                            waited_ms: 0,
                            approved: None,
                            by: None,
                        });
                        (r.approvals.len() - 1, e.at_ms)
                    });
                    let w = &mut r.approvals[i];
                    // The store's wall clock, across a resume; else the run's own.
                    w.waited_ms = waited_ms.unwrap_or(e.at_ms.saturating_sub(asked_ms));
                    w.approved = Some(*approved);
                    w.by.clone_from(by);
                }
                EventKind::RunPaused { reason } => r.pauses.push(reason.clone()),
                _ => {}
            }
        }
        for (i, asked) in open {
            r.approvals[i].waited_ms = end_ms.saturating_sub(asked);
        }
        r.waited_ms = r.approvals.iter().map(|w| w.waited_ms).sum();
        r
    }

    /// Lines for people; nothing when no person was asked and the run never paused.
    pub fn lines(&self) -> String {
        let mut out = String::new();
        if !self.approvals.is_empty() {
            let _ = writeln!(
                out,
                "approvals     {} (waited {} in all)",
                self.approvals.len(),
                crate::model::literal::human_ms(self.waited_ms)
            );
            for w in &self.approvals {
                let how = match w.approved {
                    Some(true) => "approved",
                    Some(false) => "rejected",
                    None => "not answered",
                };
                let by = w.by.as_ref().map_or(String::new(), |b| format!(" by {b}"));
                let _ = writeln!(
                    out,
                    "  {:<20} {how}{by} after {}",
                    w.target,
                    crate::model::literal::human_ms(w.waited_ms)
                );
            }
        }
        for p in &self.pauses {
            let _ = writeln!(out, "paused        {p}");
        }
        out
    }
}
