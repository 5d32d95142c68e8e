//! `budget { ... }`: ceilings on what a run spends in money and tokens (for the whole run,
//! each story, each agent, one agent) and the price table for CLIs that report tokens but
//! no cost.

use crate::model::literal::Value;
use crate::model::step::{Name, Quantity, Text};
use crate::source::Span;
use serde::Serialize;

/// What a ceiling bounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole run (`run`).
    Run,
    /// Each story (`per_story`).
    PerStory,
    /// Each agent (`per_agent`).
    PerAgent,
    /// One agent (`agent NAME`).
    Agent(Name),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Run => f.write_str("the run"),
            Scope::PerStory => f.write_str("each story"),
            Scope::PerAgent => f.write_str("each agent"),
            Scope::Agent(a) => write!(f, "agent `{}`", a.name),
        }
    }
}

/// One ceiling: `run 25 USD, 2000000 tokens`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ceiling {
    /// What it bounds.
    pub scope: Scope,
    /// Its amounts: money, tokens, or both.
    pub amounts: Vec<Quantity>,
    /// The whole entry.
    pub span: Span,
}

impl Ceiling {
    /// Its money amount in US dollars, when it has one.
    pub fn usd(&self) -> Option<f64> {
        self.amounts.iter().find_map(|q| match q.value {
            Some(Value::Money(v)) => Some(v),
            _ => None,
        })
    }

    /// Its token amount, when it has one.
    pub fn tokens(&self) -> Option<f64> {
        self.amounts.iter().find_map(|q| match q.value {
            Some(Value::Tokens(v)) => Some(v),
            _ => None,
        })
    }
}

/// The price of a model (or of a CLI's default model) in US dollars per million tokens:
/// `price "gpt-5-codex" input 1.25 USD output 10 USD cached 0.125 USD`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Price {
    /// The model as the agent names it (`model`), or a CLI's output format (`codex`,
    /// `gemini`) for agents that name no model.
    pub model: Text,
    /// Per million input tokens (cached ones excepted).
    pub input: Option<Quantity>,
    /// Per million output tokens.
    pub output: Option<Quantity>,
    /// Per million input tokens read from the cache (a tenth of `input` when not given).
    pub cached: Option<Quantity>,
    /// The whole entry.
    pub span: Span,
}

fn usd(q: Option<&Quantity>) -> Option<f64> {
    match q?.value {
        Some(Value::Money(v)) => Some(v),
        _ => None,
    }
}

impl Price {
    /// What `input`, `output` and `cached` tokens cost, in US dollars (`input` counts the
    /// cached ones too, as the CLIs report them).
    pub fn cost(&self, input: u64, output: u64, cached: u64) -> f64 {
        let per_input = usd(self.input.as_ref()).unwrap_or(0.0);
        let per_output = usd(self.output.as_ref()).unwrap_or(0.0);
        let per_cached = usd(self.cached.as_ref()).unwrap_or(per_input / 10.0);
        let million = 1_000_000.0;
        #[allow(clippy::cast_precision_loss)] // token counts stay far below 2^52
        let dollars = (input.saturating_sub(cached) as f64 * per_input
            + cached as f64 * per_cached
            + output as f64 * per_output)
            / million;
        dollars
    }
}

/// `budget { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// Its ceilings.
    pub ceilings: Vec<Ceiling>,
    /// Its prices.
    pub prices: Vec<Price>,
    /// The whole item.
    pub span: Span,
}
