//! Builds the plain top-level items: imports, the workflow, artifacts, phases, epics,
//! environments and their variables, checks, procedures, limits, KPIs and settings.

use super::kids;
use crate::model::step::Cmp;
use crate::source::Span;
use crate::syntax::ast::{
    ArtifactDecl, CheckBody, CheckDef, EnvVar, Environment, Epic, Gate, Import, ImportTarget, Item,
    Kpi, LimitEntry, Limits, Phase, Procedure, Setting, SettingValue, Settings, Workflow,
};
use crate::syntax::builder::{Builder, P, missing_text};
use crate::syntax::grammar::Rule;

impl Builder<'_> {
    /// `import`.
    pub(super) fn import_item(&mut self, p: P, _span: Span) -> Option<Item> {
        let target = kids(p).next()?;
        let tspan = self.span(&target);
        let target = match target.as_rule() {
            Rule::string => ImportTarget::File(self.text(target).value.to_string()),
            _ => ImportTarget::Module(target.as_str().to_string()),
        };
        Some(Item::Import(Import {
            target,
            span: tspan,
        }))
    }

    /// `workflow`.
    pub(super) fn workflow_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let mut w = Workflow {
            name,
            start: None,
            description: None,
            span,
        };
        for e in k {
            match e.as_rule() {
                Rule::wf_start => w.start = Some(self.next_name(&mut kids(e), span)),
                Rule::wf_description => w.description = kids(e).next().map(|t| self.text(t)),
                _ => {}
            }
        }
        Item::Workflow(w)
    }

    /// `artifact`.
    pub(super) fn artifact_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let path = k
            .next()
            .map_or_else(|| missing_text(span), |t| self.text(t));
        let provided = k.next().is_some();
        Item::Artifact(ArtifactDecl {
            name,
            path,
            provided,
            span,
        })
    }

    /// `phase`.
    pub(super) fn phase_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let mut phase = Phase {
            name,
            after: Vec::new(),
            max: None,
            body: Vec::new(),
            span,
        };
        for c in k {
            match c.as_rule() {
                Rule::phase_after => {
                    phase.after = kids(c).next().map(|l| self.names(l)).unwrap_or_default();
                }
                Rule::max_clause => phase.max = self.max(c),
                Rule::block => phase.body = self.block(c),
                _ => {}
            }
        }
        Item::Phase(phase)
    }

    /// `epic`.
    pub(super) fn epic_item(&mut self, p: P, span: Span) -> Option<Item> {
        let mut k = kids(p);
        let id = k.next().map(|c| self.string_name(c))?;
        let title = k.next().map(|c| self.text(c));
        Some(Item::Epic(Epic { id, title, span }))
    }

    /// `environment`.
    pub(super) fn environment_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let mut env = Environment {
            name,
            after: None,
            url: None,
            gate: None,
            span,
        };
        for e in k {
            match e.as_rule() {
                Rule::env_after => env.after = Some(self.next_name(&mut kids(e), span)),
                Rule::env_url => env.url = kids(e).next().map(|t| self.text(t)),
                Rule::env_gate => {
                    env.gate = kids(e).next().map(|g| match g.as_rule() {
                        Rule::manual_gate => Gate::Manual {
                            span: self.span(&g),
                        },
                        Rule::rhai => Gate::Script(self.script(g)),
                        _ => Gate::Checks {
                            checks: self.names(g),
                        },
                    });
                }
                _ => {}
            }
        }
        Item::Environment(Box::new(env))
    }

    /// `env_var`.
    pub(super) fn env_var_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let (mut default, mut secret) = (None, false);
        for c in k {
            match c.as_rule() {
                Rule::secret_flag => secret = true,
                Rule::string => default = Some(self.text(c)),
                _ => {}
            }
        }
        Item::EnvVar(EnvVar {
            name,
            default,
            secret,
            span,
        })
    }

    /// `check_def`.
    pub(super) fn check_def_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let body = match k.next() {
            Some(c) if c.as_rule() == Rule::rhai => CheckBody::Script(self.script(c)),
            Some(c) => CheckBody::Steps {
                steps: self.block(c),
            },
            None => CheckBody::Steps { steps: Vec::new() },
        };
        Item::Check(CheckDef { name, body, span })
    }

    /// `procedure`.
    pub(super) fn procedure_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let body = k.next().map(|b| self.block(b)).unwrap_or_default();
        Item::Procedure(Procedure { name, body, span })
    }

    /// `limits`.
    pub(super) fn limits_item(&mut self, p: P, span: Span) -> Item {
        let mut l = Limits {
            per_agent: Vec::new(),
            global: Vec::new(),
            span,
        };
        for group in kids(p) {
            let per_agent = group.as_rule() == Rule::per_agent;
            let entries = self.limit_entries(group);
            if per_agent {
                l.per_agent.extend(entries);
            } else {
                l.global.extend(entries);
            }
        }
        Item::Limits(l)
    }

    /// `kpi`.
    pub(super) fn kpi_item(&mut self, p: P, span: Span) -> Option<Item> {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let metric = self.next_name(&mut k, span);
        let op = Cmp::parse(k.next()?.as_str());
        let target = self.quantity(k.next()?);
        Some(Item::Kpi(Kpi {
            name,
            metric,
            op,
            target,
            span,
        }))
    }

    /// `settings`.
    pub(super) fn settings_item(&mut self, p: P, span: Span) -> Item {
        let mut entries = Vec::new();
        for s in kids(p) {
            let mut k = kids(s);
            let name = self.next_name(&mut k, span);
            let Some(v) = k.next() else { continue };
            let value = match v.as_rule() {
                Rule::quantity => SettingValue::Quantity(self.quantity(v)),
                Rule::string => SettingValue::Text(self.text(v)),
                _ => SettingValue::Names(self.names(v)),
            };
            entries.push(Setting { name, value });
        }
        Item::Settings(Settings { entries, span })
    }

    pub(super) fn limit_entries(&mut self, group: P) -> Vec<LimitEntry> {
        let mut out = Vec::new();
        for e in kids(group) {
            let mut k = kids(e);
            let (Some(n), Some(v)) = (k.next(), k.next()) else {
                continue;
            };
            let name = self.name(n);
            let value = self.quantity(v);
            out.push(LimitEntry { name, value });
        }
        out
    }
}
