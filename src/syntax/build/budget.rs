//! Builds what a run may spend and whom it tells: `budget { ... }` (ceilings, prices) and
//! `notifications { ... }`.

use super::kids;
use crate::model::budget::{Budget, Ceiling, Price, Scope};
use crate::model::step::Text;
use crate::source::Span;
use crate::syntax::ast::Item;
use crate::syntax::builder::{Builder, P};
use crate::syntax::grammar::Rule;

impl Builder<'_> {
    /// `budget`.
    pub(super) fn budget_item(&mut self, p: P, span: Span) -> Item {
        let mut budget = Budget {
            ceilings: Vec::new(),
            prices: Vec::new(),
            span,
        };
        for entry in kids(p) {
            let at = self.span(&entry);
            match entry.as_rule() {
                Rule::budget_run => budget.ceilings.push(self.ceiling(Scope::Run, entry, at)),
                Rule::budget_per_story => {
                    budget
                        .ceilings
                        .push(self.ceiling(Scope::PerStory, entry, at));
                }
                Rule::budget_per_agent => {
                    budget
                        .ceilings
                        .push(self.ceiling(Scope::PerAgent, entry, at));
                }
                Rule::budget_agent => {
                    let mut k = kids(entry);
                    let Some(agent) = k.next().map(|n| self.name(n)) else {
                        continue;
                    };
                    let amounts = k.map(|q| self.quantity(q)).collect();
                    budget.ceilings.push(Ceiling {
                        scope: Scope::Agent(agent),
                        amounts,
                        span: at,
                    });
                }
                Rule::budget_price => budget.prices.push(self.price(entry, at)),
                _ => {}
            }
        }
        Item::Budget(budget)
    }

    /// `notifications`.
    pub(super) fn notifications_item(&mut self, p: P, span: Span) -> Item {
        let mut n = crate::model::Notifications {
            to: Vec::new(),
            on: Vec::new(),
            span,
        };
        for entry in kids(p) {
            match entry.as_rule() {
                Rule::notify_to => {
                    for c in kids(entry) {
                        let text = if c.as_rule() == Rule::string {
                            self.text(c)
                        } else {
                            let name = self.name(c);
                            Text {
                                value: name.name,
                                span: name.span,
                            }
                        };
                        n.to.push(text);
                    }
                }
                Rule::notify_on => {
                    for l in kids(entry) {
                        n.on.extend(self.names(l));
                    }
                }
                _ => {}
            }
        }
        Item::Notifications(n)
    }

    /// `run 25 USD, 2000000 tokens` (and `per_story`, `per_agent`).
    fn ceiling(&mut self, scope: Scope, p: P, span: Span) -> Ceiling {
        Ceiling {
            scope,
            amounts: kids(p).map(|q| self.quantity(q)).collect(),
            span,
        }
    }

    /// `price "model" input 3 USD output 15 USD cached 0.3 USD`.
    fn price(&mut self, p: P, span: Span) -> Price {
        let mut price = Price {
            model: Text {
                value: "".into(),
                span,
            },
            input: None,
            output: None,
            cached: None,
            span,
        };
        for part in kids(p) {
            match part.as_rule() {
                Rule::string => price.model = self.text(part),
                Rule::ident => {
                    let name = self.name(part);
                    price.model = Text {
                        value: name.name,
                        span: name.span,
                    };
                }
                Rule::price_input | Rule::price_output | Rule::price_cached => {
                    let rule = part.as_rule();
                    let Some(q) = kids(part).next().map(|q| self.quantity(q)) else {
                        continue;
                    };
                    match rule {
                        Rule::price_input => price.input = Some(q),
                        Rule::price_output => price.output = Some(q),
                        _ => price.cached = Some(q),
                    }
                }
                _ => {}
            }
        }
        price
    }
}
