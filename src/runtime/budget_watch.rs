//! Stops a streaming CLI whose spend passes what its task may still spend: Codex's
//! `--json` events report each turn's usage as it completes, so bmad adds them up while it
//! runs and kills the agent's tree once the tokens, or their price, pass the budget left.
//! (Claude Code stops itself at `--max-budget-usd`; Gemini CLI's JSON comes at the end.)

use super::agent_output::{OutputFormat, Usage};
use super::budget::{Left, dollars, weighted};
use super::process::Watch;
use crate::model::budget::Price;

/// The watch of a task's output, when its CLI streams usage and something bounds it.
pub(super) fn budget_watch(
    format: OutputFormat,
    left: &Left,
    price: Option<&Price>,
) -> Option<Watch> {
    if format != OutputFormat::Codex {
        return None;
    }
    let money = left.usd.filter(|_| price.is_some());
    let tokens = left.tokens;
    if money.is_none() && tokens.is_none() {
        return None;
    }
    let price = price.cloned();
    let mut used = Usage::default();
    Some(Box::new(move |line: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(line).ok()?;
        if v.get("type")? != "turn.completed" {
            return None;
        }
        let u = &v["usage"];
        let count = |k: &str| u[k].as_u64().unwrap_or(0);
        used.add(&Usage {
            input_tokens: count("input_tokens"),
            output_tokens: count("output_tokens"),
            cached_tokens: count("cached_input_tokens"),
            cost_usd: None,
        });
        if let Some(limit) = tokens
            && weighted(&used) >= limit
        {
            return Some(format!(
                "its tokens passed the budget left ({:.0} of {limit:.0})",
                weighted(&used)
            ));
        }
        if let (Some(limit), Some(p)) = (money, &price) {
            let cost = p.cost(used.input_tokens, used.output_tokens, used.cached_tokens);
            if cost >= limit {
                return Some(format!(
                    "its cost passed the budget left ({} of {})",
                    dollars(cost),
                    dollars(limit)
                ));
            }
        }
        None
    }))
}
