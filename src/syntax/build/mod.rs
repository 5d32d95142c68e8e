//! Builds top-level items from pest pairs: one function per construct, in a file per
//! family ([`items`], [`agents`], [`stories`], [`ops`], [`budget`]).

mod agents;
mod budget;
mod items;
mod ops;
mod stories;

use super::ast::{Item, StoriesFrom};
use super::builder::{Builder, P, is_keyword};
use super::grammar::Rule;
use crate::model::StoryFormat;

/// The children of a pair that carry data (keywords dropped).
fn kids(p: P) -> impl Iterator<Item = P> {
    p.into_inner().filter(|c| !is_keyword(c.as_rule()))
}

impl Builder<'_> {
    /// One top-level item: each rule of the grammar's `item` to its builder.
    pub(super) fn item(&mut self, p: P) -> Option<Item> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::import => self.import_item(p, span),
            Rule::workflow => Some(self.workflow_item(p, span)),
            Rule::agent => Some(Item::Agent(Box::new(self.agent(p, span)))),
            Rule::artifact => Some(self.artifact_item(p, span)),
            Rule::phase => Some(self.phase_item(p, span)),
            Rule::epic => self.epic_item(p, span),
            Rule::story => Some(Item::Story(Box::new(self.story(p, span)?))),
            Rule::stories_from => {
                let format = if p.clone().into_inner().any(|c| c.as_rule() == Rule::kw_bmad) {
                    StoryFormat::Bmad
                } else {
                    StoryFormat::Yaml
                };
                Some(Item::StoriesFrom(StoriesFrom {
                    pattern: kids(p).next().map(|c| self.text(c))?,
                    format,
                    span,
                }))
            }
            Rule::environment => Some(self.environment_item(p, span)),
            Rule::env_var => Some(self.env_var_item(p, span)),
            Rule::check_def => Some(self.check_def_item(p, span)),
            Rule::heal => Some(Item::Heal(Box::new(self.heal(p, span)))),
            Rule::procedure => Some(self.procedure_item(p, span)),
            Rule::maintenance => Some(self.maintenance_item(p, span)),
            Rule::incidents => Some(Item::Incidents(self.incidents(p, span))),
            Rule::emergency => Some(self.emergency_item(p, span)),
            Rule::monitor => Some(Item::Monitor(Box::new(self.monitor(p, span)))),
            Rule::limits => Some(self.limits_item(p, span)),
            Rule::budget => Some(self.budget_item(p, span)),
            Rule::notifications => Some(self.notifications_item(p, span)),
            Rule::sync => Some(self.sync_item(p, span)),
            Rule::handoffs => Some(self.handoffs_item(p, span)),
            Rule::kpi => self.kpi_item(p, span),
            Rule::settings => Some(self.settings_item(p, span)),
            _ => None,
        }
    }
}
