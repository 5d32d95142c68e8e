//! The `budget` block: amounts in money or tokens, each ceiling written once, named agents
//! that exist, ceilings that can be reached (none at zero, none above the run's own), prices
//! in money with both their parts, and money ceilings over agents whose cost nothing knows.
//! The `notifications` block: channels bmad can send to, events it knows.

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::ir::Program;
use crate::model::budget::{Budget, Ceiling, Price, Scope};
use crate::model::literal::{Kind, Value};
use crate::model::step::Quantity;
use std::collections::HashMap;

/// Whom the run tells: known events, channels that are stdout, a file or an http(s) URL.
fn notifications(p: &Program, diags: &mut Vec<Diagnostic>) {
    let Some(n) = &p.notifications else { return };
    for e in &n.on {
        if !crate::ir::vocab::NOTIFY_EVENTS.contains(&e.name.as_str()) {
            let help = did_you_mean(&e.name, crate::ir::vocab::NOTIFY_EVENTS.iter().copied())
                .unwrap_or_else(|| {
                    format!(
                        "the events are {}",
                        crate::ir::vocab::NOTIFY_EVENTS.join(", ")
                    )
                });
            diags.push(
                Diagnostic::error(Code::UnknownSetting, format!("no run event `{}`", e.name))
                    .at(e.span, "not an event of the run")
                    .help(help),
            );
        }
    }
    for to in &n.to {
        let v = to.value.as_str();
        let wrong = if let Some((scheme, _)) = v.split_once("://") {
            (!matches!(scheme, "http" | "https"))
                .then(|| format!("`{scheme}` is not http or https"))
        } else if v.is_empty() || (!v.contains(['/', '.']) && v != "stdout") {
            Some(format!("`{v}` is neither `stdout`, a file path nor a URL"))
        } else if v.ends_with('/') || v.ends_with("/.") || v == "." {
            Some(format!(
                "`{v}` is a directory, not a file to write notices in"
            ))
        } else {
            None
        };
        if let Some(why) = wrong {
            diags.push(
                Diagnostic::error(Code::UnknownSetting, format!("a notification channel {why}"))
                    .at(to.span, "not a channel")
                    .help("send to `stdout`, a file of the workspace (\"ops/run-events.jsonl\") or a webhook (\"https://...\")"),
            );
        }
    }
}

/// Every finding on the workflow's budget and notifications.
pub(super) fn check(p: &Program, diags: &mut Vec<Diagnostic>) {
    notifications(p, diags);
    let Some(b) = &p.budget else { return };
    let mut seen: HashMap<String, &Ceiling> = HashMap::new();
    for c in &b.ceilings {
        amounts(c, diags);
        let key = match &c.scope {
            Scope::Agent(a) => {
                if p.agent(&a.name).is_none() {
                    let help = did_you_mean(&a.name, p.agents.iter().map(|x| x.name.name.as_str()))
                        .unwrap_or_else(|| "name an agent of the workflow".into());
                    diags.push(
                        Diagnostic::error(Code::Undefined, format!("no agent `{}`", a.name))
                            .at(a.span, "not an agent")
                            .help(help),
                    );
                }
                format!("agent {}", a.name)
            }
            other => other.to_string(),
        };
        if let Some(first) = seen.insert(key, c) {
            diags.push(
                Diagnostic::error(
                    Code::Duplicate,
                    format!("the budget of {} is written twice", c.scope),
                )
                .at(c.span, "written again here")
                .also(first.span, "first written here")
                .help("keep one line for it, with its money and tokens"),
            );
        }
    }
    above_the_run(b, diags);
    let mut models: HashMap<&str, &Price> = HashMap::new();
    for price in &b.prices {
        self::price(price, diags);
        if let Some(first) = models.insert(price.model.value.as_str(), price) {
            diags.push(
                Diagnostic::error(
                    Code::Duplicate,
                    format!("the price of `{}` is written twice", price.model.value),
                )
                .at(price.span, "written again here")
                .also(first.span, "first written here"),
            );
        }
    }
    unpriced(p, b, diags);
}

/// A ceiling's amounts: money or tokens, each once, above zero.
fn amounts(c: &Ceiling, diags: &mut Vec<Diagnostic>) {
    let mut kinds: Vec<(Kind, &Quantity)> = Vec::new();
    for q in &c.amounts {
        let Some(v) = q.value else { continue };
        match v {
            Value::Money(n) | Value::Tokens(n) => {
                if n <= 0.0 {
                    diags.push(
                        Diagnostic::error(
                            Code::LimitExceeded,
                            format!("a budget of {v} for {} lets no task start", c.scope),
                        )
                        .at(q.span, "nothing to spend")
                        .help("give an amount above zero, or leave the line out"),
                    );
                }
                if let Some((_, first)) = kinds.iter().find(|(k, _)| *k == v.kind()) {
                    diags.push(
                        Diagnostic::error(
                            Code::Duplicate,
                            format!("the budget of {} gives {} twice", c.scope, v.kind()),
                        )
                        .at(q.span, "given again here")
                        .also(first.span, "first given here"),
                    );
                }
                kinds.push((v.kind(), q));
            }
            other => diags.push(
                Diagnostic::error(
                    Code::UnitMismatch,
                    format!("a budget is money or tokens, not {}", other.kind()),
                )
                .at(q.span, format!("{} here", other.kind()))
                .help("write money as `25 USD` and tokens as `2000000 tokens`"),
            ),
        }
    }
}

/// Story and agent ceilings above the run's own can never be reached.
fn above_the_run(b: &Budget, diags: &mut Vec<Diagnostic>) {
    let Some(run) = b.ceilings.iter().find(|c| c.scope == Scope::Run) else {
        return;
    };
    let pairs = [
        (
            run.usd(),
            Ceiling::usd as fn(&Ceiling) -> Option<f64>,
            "money",
        ),
        (
            run.tokens(),
            Ceiling::tokens as fn(&Ceiling) -> Option<f64>,
            "tokens",
        ),
    ];
    for c in b.ceilings.iter().filter(|c| c.scope != Scope::Run) {
        for (limit, of, what) in &pairs {
            if let (Some(limit), Some(own)) = (limit, of(c))
                && own > *limit
            {
                diags.push(
                    Diagnostic::warning(
                        Code::LimitExceeded,
                        format!(
                            "the budget of {} in {what} is above the run's: it is never reached",
                            c.scope
                        ),
                    )
                    .at(c.span, format!("{own} here"))
                    .also(run.span, format!("the run's is {limit}"))
                    .help("lower it, or raise the run's"),
                );
            }
        }
    }
}

/// A price: money per million tokens, with its input and output parts.
fn price(price: &Price, diags: &mut Vec<Diagnostic>) {
    for q in [&price.input, &price.output, &price.cached]
        .into_iter()
        .flatten()
    {
        match q.value {
            Some(Value::Money(_)) | None => {}
            Some(other) => diags.push(
                Diagnostic::error(
                    Code::UnitMismatch,
                    format!("a price is money per million tokens, not {}", other.kind()),
                )
                .at(q.span, format!("{} here", other.kind()))
                .help("write it as `3 USD` (per million tokens)"),
            ),
        }
    }
    if price.input.is_none() || price.output.is_none() {
        diags.push(
            Diagnostic::error(
                Code::Missing,
                format!(
                    "the price of `{}` lacks its input or output part",
                    price.model.value
                ),
            )
            .at(price.span, "incomplete price")
            .help("give both: `input 3 USD output 15 USD` (per million tokens)"),
        );
    }
}

/// A money ceiling does not see an exec agent whose CLI reports no cost and whose model
/// has no price.
fn unpriced(p: &Program, b: &Budget, diags: &mut Vec<Diagnostic>) {
    if !b.ceilings.iter().any(|c| c.usd().is_some()) {
        return;
    }
    for a in &p.agents {
        let Some(crate::model::Backend::Exec {
            output: Some(output),
            ..
        }) = &a.backend
        else {
            continue;
        };
        if output.name == "claude" || output.name == "text" {
            continue;
        }
        let key = a
            .model
            .as_ref()
            .map_or(output.name.as_str(), |m| m.value.as_str());
        if p.price(key).is_none() {
            diags.push(
                Diagnostic::warning(
                    Code::Missing,
                    format!(
                        "agent `{}` reports tokens but no cost, and `{key}` has no price: the \
                         budget's money ceilings do not see what it spends",
                        a.name.name
                    ),
                )
                .at(a.name.span, "its cost is unknown")
                .help(format!(
                    "add `price \"{key}\" input ... USD output ... USD` (per million tokens) to the budget"
                )),
            );
        }
    }
}
