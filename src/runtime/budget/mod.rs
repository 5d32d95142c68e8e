//! What a run spends against its `budget`: the ceilings of the run, of each story, of each
//! agent and of named agents, in US dollars and tokens; what each task cost (the CLI's own
//! cost, or its tokens at the price table's prices); whether the next task may start, and
//! with how much money left. A spent run or agent ceiling pauses the run; a spent story
//! ceiling blocks the story. Tasks in flight hold shares of what is left ([`share`]).

use super::agent_output::{AgentResult, Usage};
use super::event::{Event, EventKind};
use crate::ir::Program;
use crate::model::budget::{Price, Scope};
use crate::model::literal::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

pub mod share;

/// Cache reads count this much of a token against a token ceiling (as bmad-loop counts
/// them): a cached prompt costs a tenth of a fresh one.
const CACHED_WEIGHT: f64 = 0.1;

/// Money and tokens, spent or allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Amount {
    /// US dollars.
    pub usd: f64,
    /// Tokens, cache reads weighted (see [`CACHED_WEIGHT`]).
    pub tokens: f64,
}

impl Amount {
    fn add(&mut self, other: Amount) {
        self.usd += other.usd;
        self.tokens += other.tokens;
    }
}

/// A ceiling: money, tokens, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limit {
    /// At most this many US dollars.
    pub usd: Option<f64>,
    /// At most this many tokens.
    pub tokens: Option<f64>,
}

impl Limit {
    fn of(amounts: &[crate::model::step::Quantity]) -> Limit {
        let mut l = Limit::default();
        for q in amounts {
            match q.value {
                Some(Value::Money(v)) => l.usd = Some(v),
                Some(Value::Tokens(v)) => l.tokens = Some(v),
                _ => {}
            }
        }
        l
    }

    fn is_set(self) -> bool {
        self.usd.is_some() || self.tokens.is_some()
    }

    /// What of this limit `spent` has used up, in words; `None` while some is left.
    fn spent_by(self, spent: Amount) -> Option<String> {
        if let Some(usd) = self.usd
            && spent.usd >= usd
        {
            return Some(format!("{} of {}", dollars(spent.usd), dollars(usd)));
        }
        if let Some(tokens) = self.tokens
            && spent.tokens >= tokens
        {
            return Some(format!(
                "{tokens_spent:.0} of {tokens:.0} tokens",
                tokens_spent = spent.tokens
            ));
        }
        None
    }
}

/// What a task may still spend: the least left under the ceilings that apply (`None`:
/// nothing bounds it).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Left {
    /// US dollars.
    pub usd: Option<f64>,
    /// Tokens, cache reads weighted.
    pub tokens: Option<f64>,
}

/// The tokens of `usage` as a token ceiling counts them: cache reads at a tenth.
pub fn weighted(usage: &Usage) -> f64 {
    #[allow(clippy::cast_precision_loss)] // token counts stay far below 2^52
    let tokens = (usage.input_tokens.saturating_sub(usage.cached_tokens)) as f64
        + usage.cached_tokens as f64 * CACHED_WEIGHT
        + usage.output_tokens as f64;
    tokens
}

/// US dollars for people: `$1.23`, `$0.0042`.
pub fn dollars(usd: f64) -> String {
    if usd != 0.0 && usd.abs() < 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

/// Why a task may not start: a ceiling is spent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the budget of {scope} is spent ({what})")]
pub struct Spent {
    /// Whose ceiling.
    pub scope: Scope,
    /// How much of what, in words (`$25.10 of $25.00`).
    pub what: String,
}

impl Spent {
    /// Whether this stops the whole run (a run or agent ceiling) rather than one story.
    pub fn pauses_run(&self) -> bool {
        !matches!(self.scope, Scope::PerStory)
    }
}

/// One ceiling that applies to a task: what it allows, what was spent under it, what
/// tasks in flight hold of it.
#[derive(Debug, Clone)]
struct Bound {
    scope: Scope,
    limit: Limit,
    spent: Amount,
    held: Amount,
}

/// What a run has spent so far.
#[derive(Debug, Default)]
struct Totals {
    run: Amount,
    stories: HashMap<String, Amount>,
    agents: BTreeMap<String, Amount>,
    /// Agents that used tokens whose cost nothing reported or priced.
    unpriced: BTreeMap<String, f64>,
    /// The most one task of each agent cost, money and tokens apart: what the next one
    /// is expected to need.
    largest: HashMap<String, Amount>,
}

/// The run's budget and what it spent: one per run.
#[derive(Debug, Default)]
pub struct Ledger {
    run: Limit,
    per_story: Limit,
    per_agent: Limit,
    agents: HashMap<String, Limit>,
    /// Each agent's model (else its CLI), which names its price.
    models: HashMap<String, String>,
    /// Each agent's price (its model's, else its CLI's), when the table has one.
    prices: HashMap<String, Price>,
    totals: RefCell<Totals>,
    /// The shares of the run's ceiling (80, 100) already reported.
    reported: RefCell<Vec<u32>>,
    /// What the tasks in flight hold of what is left.
    holds: RefCell<share::Holds>,
    /// Wakes the tasks waiting for a share when one in flight ends.
    released: tokio::sync::Notify,
}

impl Ledger {
    /// The ledger of `program`'s budget; `raised` replaces the run's ceilings given on the
    /// command line (`--budget 50USD`); `price_key` names the price of each agent (its
    /// model, else its CLI).
    pub fn new(
        program: &Program,
        raised: &[Value],
        price_key: impl Fn(&str) -> Option<String>,
    ) -> Ledger {
        let mut ledger = Ledger::default();
        if let Some(b) = &program.budget {
            for c in &b.ceilings {
                let limit = Limit::of(&c.amounts);
                match &c.scope {
                    Scope::Run => ledger.run = limit,
                    Scope::PerStory => ledger.per_story = limit,
                    Scope::PerAgent => ledger.per_agent = limit,
                    Scope::Agent(a) => {
                        ledger.agents.insert(a.name.to_string(), limit);
                    }
                }
            }
        }
        for v in raised {
            match v {
                Value::Money(u) => ledger.run.usd = Some(*u),
                Value::Tokens(t) => ledger.run.tokens = Some(*t),
                _ => {}
            }
        }
        for a in &program.agents {
            let name = a.name.name.as_str();
            if let Some(key) = price_key(name) {
                if let Some(p) = program.price(&key) {
                    ledger.prices.insert(name.to_string(), p.clone());
                }
                ledger.models.insert(name.to_string(), key);
            }
        }
        ledger
    }

    /// Whether the workflow (or the command line) sets any ceiling.
    pub fn bounded(&self) -> bool {
        self.run.is_set()
            || self.per_story.is_set()
            || self.per_agent.is_set()
            || self.agents.values().any(|l| l.is_set())
    }

    /// The ceilings that apply to a task of `agent` (for `story`), each with what was
    /// spent and what tasks in flight hold under it.
    fn scopes(&self, agent: &str, story: Option<&str>) -> Vec<Bound> {
        let t = self.totals.borrow();
        let h = self.holds.borrow();
        let agent_spent = t.agents.get(agent).copied().unwrap_or_default();
        let agent_held = h.agent(agent);
        let mut scopes = vec![
            Bound {
                scope: Scope::Run,
                limit: self.run,
                spent: t.run,
                held: h.run(),
            },
            Bound {
                scope: Scope::PerAgent,
                limit: self.per_agent,
                spent: agent_spent,
                held: agent_held,
            },
        ];
        if let Some(l) = self.agents.get(agent) {
            scopes.push(Bound {
                scope: Scope::Agent(crate::model::step::Name {
                    name: agent.into(),
                    span: crate::source::Span::default(),
                }),
                limit: *l,
                spent: agent_spent,
                held: agent_held,
            });
        }
        if let Some(s) = story {
            scopes.push(Bound {
                scope: Scope::PerStory,
                limit: self.per_story,
                spent: t.stories.get(s).copied().unwrap_or_default(),
                held: h.story(s),
            });
        }
        scopes
    }

    /// The ceiling that applies to a task of `agent` (for `story`) and is used up, if one
    /// is: a run or agent ceiling pauses the run, a story's blocks the story.
    pub fn spent_ceiling(&self, agent: &str, story: Option<&str>) -> Option<Spent> {
        if !self.bounded() {
            return None;
        }
        self.scopes(agent, story).into_iter().find_map(|b| {
            b.limit.spent_by(b.spent).map(|what| Spent {
                scope: b.scope,
                what,
            })
        })
    }

    /// The price of `agent`'s model, when the table has one.
    pub fn price_of(&self, agent: &str) -> Option<&Price> {
        self.prices.get(agent)
    }

    /// Counts what a task of `agent` (for `story`) used; fills in the cost from the price
    /// table when the CLI reported tokens but no cost (`priced`). Returns what it cost.
    pub fn charge(&self, agent: &str, story: Option<&str>, result: &mut AgentResult) -> Amount {
        if result.model.is_none() {
            result.model = self.models.get(agent).cloned();
        }
        if result.usage.cost_usd.is_none()
            && let Some(p) = self.prices.get(agent)
        {
            let u = &result.usage;
            result.usage.cost_usd = Some(p.cost(u.input_tokens, u.output_tokens, u.cached_tokens));
            result.priced = true;
        }
        self.count(agent, story, &result.usage)
    }

    fn count(&self, agent: &str, story: Option<&str>, usage: &Usage) -> Amount {
        let tokens = weighted(usage);
        let cost = Amount {
            usd: usage.cost_usd.unwrap_or(0.0),
            tokens,
        };
        let mut t = self.totals.borrow_mut();
        t.run.add(cost);
        t.agents.entry(agent.to_string()).or_default().add(cost);
        if let Some(s) = story {
            t.stories.entry(s.to_string()).or_default().add(cost);
        }
        if usage.cost_usd.is_none() && tokens > 0.0 {
            *t.unpriced.entry(agent.to_string()).or_default() += tokens;
        }
        let largest = t.largest.entry(agent.to_string()).or_default();
        largest.usd = largest.usd.max(cost.usd);
        largest.tokens = largest.tokens.max(cost.tokens);
        cost
    }

    /// Counts what the tasks of earlier segments of a resumed run spent.
    pub fn restore(&self, events: &[Event]) {
        for e in events {
            if let EventKind::TaskFinished {
                agent,
                story,
                result: Some(r),
                ..
            } = &e.kind
            {
                self.count(agent, story.as_deref(), &r.usage);
            }
            if let EventKind::BudgetSpent { percent, .. } = &e.kind {
                self.mark_reported(*percent);
            }
        }
    }

    /// What the run spent so far.
    pub fn spent(&self) -> Amount {
        self.totals.borrow().run
    }

    /// The run's own ceiling.
    pub fn run_limit(&self) -> Limit {
        self.run
    }

    /// What each agent spent, by name.
    pub fn by_agent(&self) -> Vec<(String, Amount)> {
        let t = self.totals.borrow();
        t.agents.iter().map(|(a, s)| (a.clone(), *s)).collect()
    }

    /// The agents whose tokens had no cost (no price for their model or CLI), with their
    /// tokens: a money ceiling does not see them.
    pub fn unpriced(&self) -> Vec<(String, f64)> {
        let t = self.totals.borrow();
        t.unpriced.iter().map(|(a, n)| (a.clone(), *n)).collect()
    }

    /// Whether the share `percent` of the run's ceiling is reported for the first time
    /// now (it is marked as reported).
    pub fn mark_reported(&self, percent: u32) -> bool {
        let mut r = self.reported.borrow_mut();
        if r.contains(&percent) {
            false
        } else {
            r.push(percent);
            true
        }
    }

    /// The share of the run's ceiling spent, the larger of money and tokens (0 to 1 and
    /// beyond); `None` when the run has no ceiling.
    pub fn run_share(&self) -> Option<f64> {
        let spent = self.totals.borrow().run;
        let money = self.run.usd.filter(|u| *u > 0.0).map(|u| spent.usd / u);
        let tokens = self
            .run
            .tokens
            .filter(|t| *t > 0.0)
            .map(|t| spent.tokens / t);
        match (money, tokens) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a task may spend, asked alone (the share given back at once).
    fn admit(l: &Ledger, agent: &str, story: Option<&str>) -> Result<Left, Spent> {
        match l.ask(agent, story, 1, None) {
            share::Asked::Granted(s) => Ok(s.left),
            share::Asked::Spent(s) => Err(s),
            other => panic!("{other:?}"),
        }
    }

    fn program(src: &str) -> Program {
        let checked = crate::check_text("t.bmad", src);
        checked.program
    }

    fn usage(input: u64, output: u64, cost: Option<f64>) -> AgentResult {
        AgentResult {
            usage: Usage {
                input_tokens: input,
                output_tokens: output,
                cached_tokens: 0,
                cost_usd: cost,
            },
            ..AgentResult::default()
        }
    }

    const SRC: &str = "agent dev { backend exec \"x\" output codex }\n\
        agent qa { backend exec \"y\" output claude }\n\
        budget {\n  run 1 USD, 120000 tokens\n  per_story 0.5 USD\n  agent qa 0.2 USD\n  \
        price codex input 1 USD output 10 USD\n}\n";

    #[test]
    fn a_cli_without_a_cost_is_priced_and_every_ceiling_counts_it() {
        let p = program(SRC);
        let ledger = Ledger::new(&p, &[], |a| {
            Some(if a == "dev" { "codex" } else { "claude" }.into())
        });
        assert_eq!(
            admit(&ledger, "dev", Some("s1")).map(|l| l.usd),
            Ok(Some(0.5))
        );
        // 100k input at $1/M and 10k output at $10/M: $0.20.
        let mut r = usage(100_000, 10_000, None);
        let cost = ledger.charge("dev", Some("s1"), &mut r);
        assert!((cost.usd - 0.2).abs() < 1e-9, "{cost:?}");
        assert!(r.priced);
        assert_eq!(
            admit(&ledger, "dev", Some("s1")).map(|l| l.usd.map(|x| (x * 100.0).round())),
            Ok(Some(30.0))
        );
        // The run's token ceiling (120k) is spent: 130k tokens, cache reads at a tenth.
        let mut r = usage(100_000, 10_000, None);
        r.usage.cached_tokens = 100_000;
        ledger.charge("dev", Some("s2"), &mut r);
        let spent = admit(&ledger, "dev", Some("s3")).unwrap_err();
        assert_eq!(spent.scope, Scope::Run);
        assert!(spent.pauses_run());
        assert_eq!(
            spent.to_string(),
            "the budget of the run is spent (130000 of 120000 tokens)"
        );
    }

    #[test]
    fn a_story_ceiling_blocks_the_story_and_an_agent_ceiling_its_agent() {
        let p = program(SRC);
        let ledger = Ledger::new(&p, &[Value::Tokens(1e9)], |_| Some("claude".into()));
        let mut r = usage(10, 10, Some(0.25));
        ledger.charge("qa", Some("s1"), &mut r);
        assert!(!r.priced);
        let spent = admit(&ledger, "qa", Some("s2")).unwrap_err();
        assert_eq!(
            spent.to_string(),
            "the budget of agent `qa` is spent ($0.25 of $0.20)"
        );
        ledger.charge("dev", Some("s1"), &mut usage(10, 10, Some(0.25)));
        let spent = admit(&ledger, "dev", Some("s1")).unwrap_err();
        assert_eq!(spent.scope, Scope::PerStory);
        assert!(!spent.pauses_run());
        assert_eq!(
            admit(&ledger, "dev", Some("s3")).map(|l| l.usd),
            Ok(Some(0.5))
        );
    }

    #[test]
    fn the_command_line_raises_the_run_ceiling_and_a_resume_counts_what_was_spent() {
        let p = program(SRC);
        let ledger = Ledger::new(&p, &[Value::Money(5.0), Value::Tokens(1e9)], |_| None);
        assert_eq!(ledger.run_limit().usd, Some(5.0));
        let earlier = vec![Event {
            at_ms: 0,
            kind: EventKind::TaskFinished {
                agent: "dev".into(),
                tasks: vec![],
                story: None,
                ok: true,
                feedback: None,
                result: Some(Box::new(usage(1000, 0, Some(4.0)))),
            },
        }];
        ledger.restore(&earlier);
        assert!((ledger.spent().usd - 4.0).abs() < 1e-9);
        assert_eq!(admit(&ledger, "dev", None).map(|l| l.usd), Ok(Some(1.0)));
        assert_eq!(ledger.run_share(), Some(0.8));
    }
}
