//! Builds the operations items: heals, maintenance jobs, incidents, emergencies, monitors,
//! sync and the handoff protocol.

use super::kids;
use crate::model::step::{Cmp, Name, Probe, ProbeMethod};
use crate::source::Span;
use crate::syntax::ast::{
    Action, ActionKind, Actions, Emergency, Fix, HandoffProtocol, Heal, Health, HealthProbe,
    Incidents, Item, Level, Maintenance, MetricRule, Monitor, PatternRule, Respond, Stage, Status,
    StatusRule, Sync,
};
use crate::syntax::builder::{Builder, P, missing_text};
use crate::syntax::grammar::Rule;

impl Builder<'_> {
    /// `maintenance`.
    pub(super) fn maintenance_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let mut m = Maintenance {
            name,
            cron: None,
            kind: None,
            overlap: None,
            agent: None,
            body: Vec::new(),
            span,
        };
        for c in k {
            match c.as_rule() {
                Rule::maint_cron => m.cron = kids(c).next().map(|t| self.text(t)),
                Rule::maint_type => m.kind = Some(self.next_name(&mut kids(c), span)),
                Rule::maint_overlap => m.overlap = Some(self.next_name(&mut kids(c), span)),
                Rule::maint_agent => m.agent = Some(self.next_name(&mut kids(c), span)),
                Rule::block => m.body = self.block(c),
                _ => {}
            }
        }
        Item::Maintenance(Box::new(m))
    }

    /// `emergency`.
    pub(super) fn emergency_item(&mut self, p: P, span: Span) -> Item {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let mut e = Emergency {
            name,
            immediate: Vec::new(),
            recovery: Vec::new(),
            team: Vec::new(),
            span,
        };
        for c in k {
            let rule = c.as_rule();
            let Some(v) = kids(c).next() else { continue };
            match rule {
                Rule::em_immediate => e.immediate = self.block(v),
                Rule::em_recovery => e.recovery = self.block(v),
                Rule::em_team => e.team = self.names(v),
                _ => {}
            }
        }
        Item::Emergency(e)
    }

    /// `sync`.
    pub(super) fn sync_item(&mut self, p: P, span: Span) -> Item {
        let mut s = Sync {
            every: None,
            strategy: None,
            at: Vec::new(),
            conflict: None,
            audit: false,
            notify: None,
            span,
        };
        for e in kids(p) {
            match e.as_rule() {
                Rule::sync_every => s.every = self.first_quantity(e),
                Rule::sync_strategy => {
                    s.strategy = Some(self.next_name(&mut kids(e), span));
                }
                Rule::sync_at => {
                    s.at = kids(e).next().map(|l| self.names(l)).unwrap_or_default();
                }
                Rule::sync_conflict => {
                    let mut k = kids(e);
                    s.conflict = Some(self.next_name(&mut k, span));
                    for c in k {
                        match c.as_rule() {
                            Rule::conflict_audit => s.audit = true,
                            Rule::conflict_notify => {
                                s.notify = Some(self.next_name(&mut kids(c), span));
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Item::Sync(Box::new(s))
    }

    /// `handoffs`.
    pub(super) fn handoffs_item(&mut self, p: P, span: Span) -> Item {
        let mut h = HandoffProtocol {
            before: Vec::new(),
            after: Vec::new(),
            span,
        };
        for e in kids(p) {
            let before = e.as_rule() == Rule::ho_before;
            let names = kids(e).next().map(|l| self.names(l)).unwrap_or_default();
            if before {
                h.before.extend(names);
            } else {
                h.after.extend(names);
            }
        }
        Item::Handoffs(h)
    }

    pub(super) fn heal(&mut self, p: P, span: Span) -> Heal {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let mut h = Heal {
            name,
            agent: None,
            attempts: None,
            diagnose: Vec::new(),
            fixes: Vec::new(),
            verify: Vec::new(),
            otherwise: None,
            span,
        };
        for e in k {
            let rule = e.as_rule();
            let mut v = kids(e);
            match rule {
                Rule::heal_agent => h.agent = Some(self.next_name(&mut v, span)),
                Rule::heal_attempts => h.attempts = v.next().map(|c| self.count(c)),
                Rule::heal_diagnose => h
                    .diagnose
                    .extend(v.next().map(|l| self.names(l)).unwrap_or_default()),
                Rule::heal_verify => h
                    .verify
                    .extend(v.next().map(|l| self.names(l)).unwrap_or_default()),
                Rule::heal_fix => {
                    let name = self.next_name(&mut v, span);
                    let body = v.next().map(|b| self.block(b)).unwrap_or_default();
                    h.fixes.push(Fix { name, body });
                }
                Rule::heal_otherwise => h.otherwise = v.next().map(|s| self.step(s)),
                _ => {}
            }
        }
        h
    }

    pub(super) fn incidents(&mut self, p: P, span: Span) -> Incidents {
        let mut inc = Incidents {
            levels: Vec::new(),
            stages: Vec::new(),
            span,
        };
        for e in kids(p) {
            let espan = self.span(&e);
            let rule = e.as_rule();
            let mut v = kids(e);
            if rule == Rule::inc_level {
                let name = self.next_name(&mut v, espan);
                let mut level = Level {
                    name,
                    agents: Vec::new(),
                    respond: None,
                    span: espan,
                };
                for entry in v {
                    let is_agents = entry.as_rule() == Rule::level_agents;
                    let Some(x) = kids(entry).next() else {
                        continue;
                    };
                    if is_agents {
                        level.agents = self.names(x);
                    } else if x.as_rule() == Rule::immediate {
                        level.respond = Some(Respond::Immediate {
                            span: self.span(&x),
                        });
                    } else {
                        level.respond = Some(Respond::Within(self.quantity(x)));
                    }
                }
                inc.levels.push(level);
            } else {
                let name = self.next_name(&mut v, espan);
                let body = v.next().map(|b| self.block(b)).unwrap_or_default();
                inc.stages.push(Stage { name, body });
            }
        }
        inc
    }

    pub(super) fn monitor(&mut self, p: P, span: Span) -> Monitor {
        let mut k = kids(p);
        let name = self.next_name(&mut k, span);
        let mut m = Monitor {
            name,
            agent: None,
            every: None,
            logs: Vec::new(),
            health: Vec::new(),
            metrics: Vec::new(),
            patterns: Vec::new(),
            on_status: Vec::new(),
            span,
        };
        for e in k {
            let espan = self.span(&e);
            let rule = e.as_rule();
            match rule {
                Rule::mon_agent => m.agent = Some(self.next_name(&mut kids(e), espan)),
                Rule::mon_every => m.every = self.first_quantity(e),
                Rule::mon_logs => m
                    .logs
                    .extend(kids(e).next().map(|l| self.texts(l)).unwrap_or_default()),
                Rule::mon_health => m.health.push(self.health(e, espan)),
                Rule::mon_metric => {
                    let mut v = kids(e);
                    let metric = self.next_name(&mut v, espan);
                    let mut rule = MetricRule {
                        metric,
                        of: None,
                        op: Cmp::Gt,
                        threshold: crate::model::step::Quantity {
                            value: None,
                            span: espan,
                        },
                        level: None,
                        actions: Actions::default(),
                        span: espan,
                    };
                    for c in v {
                        match c.as_rule() {
                            Rule::metric_source => {
                                rule.of = Some(self.next_name(&mut kids(c), espan));
                            }
                            Rule::cmp_op => rule.op = Cmp::parse(c.as_str()),
                            Rule::quantity => rule.threshold = self.quantity(c),
                            Rule::status_level => rule.level = Some(status(c.as_str())),
                            Rule::rule_actions => rule.actions = self.actions(c),
                            _ => {}
                        }
                    }
                    m.metrics.push(rule);
                }
                Rule::mon_pattern => {
                    let mut v = kids(e);
                    let Some(pattern) = v.next().map(|c| self.text(c)) else {
                        continue;
                    };
                    let mut rule = PatternRule {
                        pattern,
                        severity: None,
                        actions: Actions::default(),
                        span: espan,
                    };
                    for c in v {
                        match c.as_rule() {
                            Rule::pattern_severity => {
                                rule.severity = Some(self.next_name(&mut kids(c), espan));
                            }
                            Rule::rule_actions => rule.actions = self.actions(c),
                            _ => {}
                        }
                    }
                    m.patterns.push(rule);
                }
                Rule::mon_status => {
                    let mut v = kids(e);
                    let Some(level) = v.next() else { continue };
                    let status = status(level.as_str());
                    let actions = v.next().map_or(Actions::default(), |a| self.actions(a));
                    m.on_status.push(StatusRule {
                        status,
                        actions,
                        span: espan,
                    });
                }
                _ => {}
            }
        }
        m
    }

    pub(super) fn health(&mut self, e: P, span: Span) -> Health {
        let mut v = kids(e);
        let name = self.next_name(&mut v, span);
        let mut probe = Probe {
            // Set by the probe's spec; unused for `sh` and `check`.
            method: ProbeMethod::Get,
            target: missing_text(span),
            expect: None,
            timeout: None,
            every: None,
            ca_file: None,
        };
        let mut health_probe = None;
        let mut actions = None;
        for c in v {
            match c.as_rule() {
                Rule::health_sh => {
                    health_probe = kids(c).next().map(|t| HealthProbe::Sh {
                        command: self.text(t),
                    });
                }
                Rule::health_check => {
                    health_probe = Some(HealthProbe::Check {
                        check: self.next_name(&mut kids(c), span),
                    });
                }
                Rule::rule_actions => actions = Some(self.actions(c)),
                _ => self.probe_part(&mut probe, c),
            }
        }
        let (expect, timeout, every) = (probe.expect, probe.timeout, probe.every);
        let ca_file = probe.ca_file.clone();
        Health {
            name,
            probe: health_probe.unwrap_or(HealthProbe::Probe(probe)),
            expect,
            timeout,
            every,
            ca_file,
            actions,
            span,
        }
    }

    pub(super) fn actions(&mut self, p: P) -> Actions {
        let mut a = Actions::default();
        for c in kids(p) {
            let span = self.span(&c);
            let rule = c.as_rule();
            if rule == Rule::cooldown {
                a.cooldown = self.first_quantity(c);
                continue;
            }
            let target = kids(c).next();
            let kind = if rule == Rule::act_alert {
                match target {
                    Some(t) if t.as_rule() == Rule::string => ActionKind::Alert {
                        to: None,
                        channel: Some(self.text(t)),
                    },
                    Some(t) => ActionKind::Alert {
                        to: Some(self.name(t)),
                        channel: None,
                    },
                    None => ActionKind::Alert {
                        to: None,
                        channel: None,
                    },
                }
            } else {
                let Some(t) = target else { continue };
                let name: Name = self.name(t);
                match rule {
                    Rule::act_scale => ActionKind::Scale { target: name },
                    Rule::act_heal => ActionKind::Heal { target: name },
                    Rule::act_escalate => ActionKind::Escalate { level: name },
                    Rule::act_emergency => ActionKind::Emergency { target: name },
                    _ => ActionKind::Call { target: name },
                }
            };
            a.list.push(Action { kind, span });
        }
        a
    }
}

fn status(s: &str) -> Status {
    match s {
        "healthy" => Status::Healthy,
        "warning" => Status::Warning,
        _ => Status::Critical,
    }
}
