//! Shares of what a budget has left. Every task in flight holds a share of what its
//! ceilings have left, and the shares never add up to more than is left, so tasks running
//! side by side cannot overshoot a ceiling together. A task is offered twice the most a task
//! of its agent has cost in this run (before one has finished: what is left split evenly
//! between the tasks that may run at once), never more than no other task holds; a task
//! that finds nothing free, or less than a task of its agent has cost, waits for one in
//! flight to end. A task stopped at its share asks
//! again for a larger one; when less is left than it was stopped at and no other task holds
//! any, it cannot get further and the run pauses.

use super::{Amount, Bound, Ledger, Left, Spent};
use crate::model::budget::Scope;
use std::collections::HashMap;

/// Less money than this is nothing to start a task with (a hundredth of a cent).
const NO_MONEY: f64 = 1e-4;
/// Fewer tokens than this are nothing to start a task with.
const NO_TOKENS: f64 = 1.0;

/// What the tasks in flight hold: in all, by agent and by story.
#[derive(Debug, Default)]
pub(super) struct Holds {
    run: Amount,
    agents: HashMap<String, Amount>,
    stories: HashMap<String, Amount>,
    /// Tasks holding a share.
    tasks: usize,
}

impl Holds {
    /// What all tasks in flight hold.
    pub(super) fn run(&self) -> Amount {
        self.run
    }

    /// What the tasks of `agent` in flight hold.
    pub(super) fn agent(&self, agent: &str) -> Amount {
        self.agents.get(agent).copied().unwrap_or_default()
    }

    /// What the tasks of `story` in flight hold.
    pub(super) fn story(&self, story: &str) -> Amount {
        self.stories.get(story).copied().unwrap_or_default()
    }

    fn change(&mut self, agent: &str, story: Option<&str>, by: Amount, sign: f64) {
        let apply = |a: &mut Amount| {
            a.usd = (a.usd + sign * by.usd).max(0.0);
            a.tokens = (a.tokens + sign * by.tokens).max(0.0);
        };
        apply(&mut self.run);
        apply(self.agents.entry(agent.to_string()).or_default());
        if let Some(s) = story {
            apply(self.stories.entry(s.to_string()).or_default());
        }
    }
}

/// A task's share of what is left, held while it runs and given back when dropped (drop it
/// after the task's cost is counted).
#[derive(Debug)]
pub struct Share<'a> {
    ledger: &'a Ledger,
    agent: String,
    story: Option<String>,
    held: Amount,
    /// What the task may spend (`None` where nothing bounds it).
    pub left: Left,
}

impl Share<'_> {
    /// Whether a task that cost `cost` used up its share.
    pub fn used_up_by(&self, cost: Amount) -> bool {
        // Claude Code checks its limit between turns: at the limit, or past it.
        let reached = |share: Option<f64>, spent: f64| share.is_some_and(|s| spent >= s * 0.999);
        reached(self.left.usd, cost.usd) || reached(self.left.tokens, cost.tokens)
    }
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        if self.left == Left::default() {
            return;
        }
        let mut h = self.ledger.holds.borrow_mut();
        h.change(&self.agent, self.story.as_deref(), self.held, -1.0);
        h.tasks = h.tasks.saturating_sub(1);
        drop(h);
        self.ledger.released.notify_waiters();
    }
}

/// The answer to a task asking for a share.
#[derive(Debug)]
pub enum Asked<'a> {
    /// It may start, with this share.
    Granted(Share<'a>),
    /// A ceiling that applies is used up.
    Spent(Spent),
    /// All that is left is held by tasks in flight: ask again when one ends
    /// ([`Ledger::released`]).
    Wait,
    /// Less is left than the share it was stopped at, and no other task holds any: it
    /// cannot get further.
    TooLittle {
        /// What is left.
        left: Left,
        /// Whose ceiling: a story's blocks the story, a run's or an agent's pauses the run.
        scope: Scope,
    },
}

/// One of money and tokens, for a share.
enum Measure {
    Money,
    Tokens,
}

impl Measure {
    fn of_limit(&self, l: &super::Limit) -> Option<f64> {
        match self {
            Measure::Money => l.usd,
            Measure::Tokens => l.tokens,
        }
    }

    fn of_amount(&self, a: &Amount) -> f64 {
        match self {
            Measure::Money => a.usd,
            Measure::Tokens => a.tokens,
        }
    }

    fn of_left(&self, l: &Left) -> Option<f64> {
        match self {
            Measure::Money => l.usd,
            Measure::Tokens => l.tokens,
        }
    }

    fn nothing_left(&self) -> &'static str {
        match self {
            Measure::Money => "less than a hundredth of a cent left",
            Measure::Tokens => "less than a token left",
        }
    }

    fn nothing(&self) -> f64 {
        match self {
            Measure::Money => NO_MONEY,
            Measure::Tokens => NO_TOKENS,
        }
    }
}

/// A task's share in one measure.
#[derive(Debug, PartialEq)]
enum Offer {
    /// Nothing bounds it.
    Unbounded,
    /// This much.
    Share(f64),
    /// Wait for a task in flight that holds some of the ceiling that binds: nothing of it
    /// is free, or less than a task of its agent has cost, or no more than the share the
    /// task was stopped at.
    Wait,
    /// Less than nothing is left of this ceiling, and no task holds any of it.
    Spent(Scope),
    /// No more is free of this ceiling than the share the task was stopped at, and no
    /// task holds any of it; what is free.
    NoFurther(Scope, f64),
}

/// What a task gets of one measure, given the ceilings that apply (`bounds`), the most a
/// task of its agent cost (`largest`), the share it was stopped at, if it was, and how
/// many more tasks may start beside those in flight (`open_slots`).
fn offer(
    m: &Measure,
    bounds: &[Bound],
    largest: &Amount,
    stopped_at: Option<&Left>,
    open_slots: usize,
) -> Offer {
    // The ceiling with the least free binds; tasks side by side share the run's and the
    // agent's, which the first tasks split between them.
    let mut binding: Option<(&Bound, f64)> = None;
    let mut shared: Option<f64> = None;
    for b in bounds {
        let Some(limit) = m.of_limit(&b.limit) else {
            continue;
        };
        let f = (limit - m.of_amount(&b.spent) - m.of_amount(&b.held)).max(0.0);
        if binding.is_none_or(|(_, least)| f < least) {
            binding = Some((b, f));
        }
        if !matches!(b.scope, Scope::PerStory) {
            shared = Some(shared.map_or(f, |x| x.min(f)));
        }
    }
    let Some((bound, free)) = binding else {
        return Offer::Unbounded;
    };
    // Whether tasks in flight hold some of the binding ceiling: they may give it back.
    let held = m.of_amount(&bound.held) >= m.nothing();
    if free < m.nothing() {
        return if held {
            Offer::Wait
        } else {
            Offer::Spent(bound.scope.clone())
        };
    }
    let stopped = stopped_at.and_then(|s| m.of_left(s));
    if stopped.is_some_and(|s| free <= s) {
        return if held {
            Offer::Wait
        } else {
            Offer::NoFurther(bound.scope.clone(), free)
        };
    }
    let largest = m.of_amount(largest);
    if held && largest >= m.nothing() && free < largest {
        return Offer::Wait;
    }
    #[allow(clippy::cast_precision_loss)] // a handful of slots
    let mut want = if largest >= m.nothing() {
        2.0 * largest
    } else {
        shared.map_or(free, |f| f / open_slots.max(1) as f64)
    };
    if let Some(s) = stopped {
        want = want.max(2.0 * s);
    }
    Offer::Share(want.min(free))
}

impl Ledger {
    /// Asks for the share a task of `agent` (for `story`) may spend; `slots` is how many
    /// tasks may run at once where it runs, `stopped_at` the share it was stopped at when
    /// it asks again.
    pub fn ask(
        &self,
        agent: &str,
        story: Option<&str>,
        slots: usize,
        stopped_at: Option<&Left>,
    ) -> Asked<'_> {
        // Every task asks: a run without a budget answers at once (with a share that holds
        // nothing, and gives nothing back: it names no agent or story).
        if !self.bounded() {
            return Asked::Granted(Share {
                ledger: self,
                agent: String::new(),
                story: None,
                held: Amount::default(),
                left: Left::default(),
            });
        }
        let mut share = Share {
            ledger: self,
            agent: agent.to_string(),
            story: story.map(str::to_string),
            held: Amount::default(),
            left: Left::default(),
        };
        if let Some(spent) = self.spent_ceiling(agent, story) {
            return Asked::Spent(spent);
        }
        let bounds = self.scopes(agent, story);
        let largest = self
            .totals
            .borrow()
            .largest
            .get(agent)
            .copied()
            .unwrap_or_default();
        let open_slots = slots.saturating_sub(self.holds.borrow().tasks);
        let measures = [Measure::Money, Measure::Tokens];
        let mut left = Left::default();
        let mut no_further = None;
        for (m, slot) in measures.iter().zip([&mut left.usd, &mut left.tokens]) {
            match offer(m, &bounds, &largest, stopped_at, open_slots) {
                Offer::Unbounded => {}
                Offer::Share(x) => *slot = Some(x),
                Offer::Wait => return Asked::Wait,
                Offer::Spent(scope) => {
                    return Asked::Spent(Spent {
                        scope,
                        what: m.nothing_left().into(),
                    });
                }
                Offer::NoFurther(scope, free) => {
                    *slot = Some(free);
                    no_further = Some(scope);
                }
            }
        }
        if let Some(scope) = no_further {
            return Asked::TooLittle { left, scope };
        }
        share.held = Amount {
            usd: left.usd.unwrap_or(0.0),
            tokens: left.tokens.unwrap_or(0.0),
        };
        share.left = left;
        if left != Left::default() {
            let mut h = self.holds.borrow_mut();
            h.change(agent, story, share.held, 1.0);
            h.tasks += 1;
        }
        Asked::Granted(share)
    }

    /// Waits until a task in flight gives its share back.
    pub async fn released(&self) {
        self.released.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::agent_output::{AgentResult, Usage};

    fn ledger(budget: &str) -> Ledger {
        let src = format!(
            "agent dev {{ backend exec \"x\" output claude }}\n\
             agent qa {{ backend exec \"y\" output claude }}\nbudget {{\n{budget}\n}}\n"
        );
        let checked = crate::check_text("t.bmad", &src);
        assert!(!checked.has_errors(), "{src}");
        Ledger::new(&checked.program, &[], |_| None)
    }

    fn granted(a: Asked<'_>) -> Share<'_> {
        match a {
            Asked::Granted(s) => s,
            other => panic!("not granted: {other:?}"),
        }
    }

    fn cost(l: &Ledger, agent: &str, story: Option<&str>, usd: f64) {
        let mut r = AgentResult {
            usage: Usage {
                cost_usd: Some(usd),
                ..Usage::default()
            },
            ..AgentResult::default()
        };
        l.charge(agent, story, &mut r);
    }

    #[test]
    fn tasks_side_by_side_hold_shares_that_never_sum_past_what_is_left() {
        let l = ledger("run 1 USD");
        // Four slots, nothing known of the agent: a quarter each.
        let shares: Vec<_> = (0..4)
            .map(|_| granted(l.ask("dev", None, 4, None)))
            .collect();
        let total: f64 = shares.iter().map(|s| s.left.usd.unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        // A fifth waits for one of them.
        assert!(matches!(l.ask("dev", None, 4, None), Asked::Wait));
        cost(&l, "dev", None, 0.10);
        drop(shares);
        // Alone now, with an estimate: twice the most a task cost.
        let s = granted(l.ask("dev", None, 4, None));
        assert_eq!(s.left.usd.map(|u| (u * 100.0).round()), Some(20.0));
    }

    #[test]
    fn a_task_stopped_at_its_share_gets_a_larger_one_or_cannot_get_further() {
        let l = ledger("run 1 USD");
        let first = granted(l.ask("dev", None, 4, None));
        let stopped = first.left;
        assert_eq!(stopped.usd, Some(0.25));
        cost(&l, "dev", None, 0.25);
        assert!(first.used_up_by(Amount {
            usd: 0.25,
            tokens: 0.0
        }));
        drop(first);
        let again = granted(l.ask("dev", None, 4, Some(&stopped)));
        assert_eq!(again.left.usd, Some(0.5));
        cost(&l, "dev", None, 0.5);
        let stopped = again.left;
        drop(again);
        // $0.25 left, stopped at $0.50: no further.
        match l.ask("dev", None, 4, Some(&stopped)) {
            Asked::TooLittle { left, scope } => {
                assert_eq!(left.usd, Some(0.25));
                assert_eq!(scope, Scope::Run);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_task_waits_rather_than_start_on_less_than_its_agent_has_cost_while_others_run() {
        let l = ledger("run 1 USD");
        cost(&l, "dev", None, 0.2);
        let a = granted(l.ask("dev", None, 4, None));
        let b = granted(l.ask("dev", None, 4, None));
        assert_eq!((a.left.usd, b.left.usd), (Some(0.4), Some(0.4)));
        cost(&l, "dev", None, 0.35);
        drop(a);
        // $0.05 free, a task of `dev` cost $0.35, `b` still runs: wait for it.
        assert!(matches!(l.ask("dev", None, 4, None), Asked::Wait));
        cost(&l, "dev", None, 0.1);
        drop(b);
        // Alone: what is left, however little.
        let c = granted(l.ask("dev", None, 4, None));
        assert_eq!(c.left.usd.map(|u| (u * 100.0).round()), Some(35.0));
    }

    #[test]
    fn a_story_ceiling_is_not_split_between_slots_and_a_spent_one_says_so() {
        let l = ledger("per_story 0.5 USD");
        let s = granted(l.ask("dev", Some("s1"), 8, None));
        assert_eq!(s.left.usd, Some(0.5));
        // The story's other task waits while the first holds all of it.
        assert!(matches!(l.ask("qa", Some("s1"), 8, None), Asked::Wait));
        // Another story is not held up.
        let t = granted(l.ask("dev", Some("s2"), 8, None));
        assert_eq!(t.left.usd, Some(0.5));
        cost(&l, "dev", Some("s1"), 0.5);
        drop(s);
        assert!(matches!(
            l.ask("qa", Some("s1"), 8, None),
            Asked::Spent(Spent {
                scope: Scope::PerStory,
                ..
            })
        ));
    }

    #[test]
    fn a_story_short_of_its_own_ceiling_waits_for_nobody_else_and_is_refused_alone() {
        let l = ledger("per_story 0.5 USD");
        cost(&l, "dev", Some("s1"), 0.3);
        // Another story's task holds its own share: s1 does not wait for it.
        let other = granted(l.ask("dev", Some("s2"), 8, None));
        let s1 = granted(l.ask("dev", Some("s1"), 8, None));
        assert_eq!(s1.left.usd.map(|u| (u * 100.0).round()), Some(20.0));
        let stopped = s1.left;
        cost(&l, "dev", Some("s1"), 0.15);
        drop(s1);
        match l.ask("dev", Some("s1"), 8, Some(&stopped)) {
            Asked::TooLittle { scope, .. } => assert_eq!(scope, Scope::PerStory),
            other => panic!("{other:?}"),
        }
        drop(other);
    }

    #[test]
    fn a_run_without_a_budget_holds_nothing() {
        let l = ledger("per_story 1000000 tokens");
        let unbounded = Ledger::default();
        let s = granted(unbounded.ask("dev", None, 1, None));
        assert_eq!(s.left, Left::default());
        let t = granted(l.ask("dev", None, 1, None));
        assert_eq!(t.left, Left::default());
    }
}
