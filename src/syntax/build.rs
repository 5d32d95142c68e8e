//! Builds top-level items from pest pairs: one function per construct.

use super::ast::{
    Action, ActionKind, Actions, Agent, ArtifactDecl, Backend, CheckBody, CheckDef, Emergency,
    EnvVar, Environment, Epic, FileChange, Fix, Gate, HandoffProtocol, Heal, Health, HealthProbe,
    Import, ImportTarget, Incidents, Item, Kpi, Level, LimitEntry, Limits, Maintenance, MetricRule,
    Monitor, NewFile, PatternRule, Phase, Procedure, Respond, Setting, SettingValue, Settings,
    Stage, Status, StatusRule, StoriesFrom, Story, Sync, Workflow,
};
use super::build_steps::{Builder, P, is_keyword, missing_text, push_exact};
use super::grammar::Rule;
use crate::ir::step::{Cmp, Name, Probe};
use crate::source::Span;

/// The children of a pair that carry data (keywords dropped).
fn kids(p: P) -> impl Iterator<Item = P> {
    p.into_inner().filter(|c| !is_keyword(c.as_rule()))
}

impl Builder<'_> {
    /// One top-level item.
    pub(super) fn item(&mut self, p: P) -> Option<Item> {
        let span = self.span(&p);
        Some(match p.as_rule() {
            Rule::import => {
                let target = kids(p).next()?;
                let tspan = self.span(&target);
                let target = match target.as_rule() {
                    Rule::string => ImportTarget::File(self.text(target).value.to_string()),
                    _ => ImportTarget::Module(target.as_str().to_string()),
                };
                Item::Import(Import {
                    target,
                    span: tspan,
                })
            }
            Rule::workflow => {
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
                        _ => w.description = kids(e).next().map(|t| self.text(t)),
                    }
                }
                Item::Workflow(w)
            }
            Rule::agent => Item::Agent(Box::new(self.agent(p, span))),
            Rule::artifact => {
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
            Rule::phase => {
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
                        _ => phase.body = self.block(c),
                    }
                }
                Item::Phase(phase)
            }
            Rule::epic => {
                let mut k = kids(p);
                let id = k.next().map(|c| self.string_name(c))?;
                let title = k.next().map(|c| self.text(c));
                Item::Epic(Epic { id, title, span })
            }
            Rule::story => Item::Story(Box::new(self.story(p, span)?)),
            Rule::stories_from => Item::StoriesFrom(StoriesFrom {
                pattern: kids(p).next().map(|c| self.text(c))?,
                span,
            }),
            Rule::environment => {
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
                        _ => {
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
                    }
                }
                Item::Environment(Box::new(env))
            }
            Rule::env_var => {
                let mut k = kids(p);
                let name = self.next_name(&mut k, span);
                let (mut default, mut secret) = (None, false);
                for c in k {
                    match c.as_rule() {
                        Rule::secret_flag => secret = true,
                        _ => default = Some(self.text(c)),
                    }
                }
                Item::EnvVar(EnvVar {
                    name,
                    default,
                    secret,
                    span,
                })
            }
            Rule::check_def => {
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
            Rule::heal => Item::Heal(Box::new(self.heal(p, span))),
            Rule::procedure => {
                let mut k = kids(p);
                let name = self.next_name(&mut k, span);
                let body = k.next().map(|b| self.block(b)).unwrap_or_default();
                Item::Procedure(Procedure { name, body, span })
            }
            Rule::maintenance => {
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
                        _ => m.body = self.block(c),
                    }
                }
                Item::Maintenance(Box::new(m))
            }
            Rule::incidents => Item::Incidents(self.incidents(p, span)),
            Rule::emergency => {
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
                        _ => e.team = self.names(v),
                    }
                }
                Item::Emergency(e)
            }
            Rule::monitor => Item::Monitor(Box::new(self.monitor(p, span))),
            Rule::limits => {
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
            Rule::sync => {
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
                        _ => {
                            let mut k = kids(e);
                            s.conflict = Some(self.next_name(&mut k, span));
                            for c in k {
                                match c.as_rule() {
                                    Rule::conflict_audit => s.audit = true,
                                    _ => s.notify = Some(self.next_name(&mut kids(c), span)),
                                }
                            }
                        }
                    }
                }
                Item::Sync(Box::new(s))
            }
            Rule::handoffs => {
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
            Rule::kpi => {
                let mut k = kids(p);
                let name = self.next_name(&mut k, span);
                let metric = self.next_name(&mut k, span);
                let op = Cmp::parse(k.next()?.as_str());
                let target = self.quantity(k.next()?);
                Item::Kpi(Kpi {
                    name,
                    metric,
                    op,
                    target,
                    span,
                })
            }
            Rule::settings => {
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
            _ => return None,
        })
    }

    fn limit_entries(&mut self, group: P) -> Vec<LimitEntry> {
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

    fn agent(&mut self, p: P, span: Span) -> Agent {
        let mut k = kids(p).peekable();
        let overrides = k
            .next_if(|c| c.as_rule() == Rule::agent_override)
            .map(|o| self.span(&o));
        let name = self.next_name(&mut k, span);
        let mut a = Agent {
            name,
            overrides,
            role: None,
            prompt: None,
            modes: Vec::new(),
            model: None,
            backend: None,
            limits: Vec::new(),
            tools: Vec::new(),
            span,
        };
        for e in k {
            match e.as_rule() {
                Rule::agent_role => a.role = kids(e).next().map(|t| self.text(t)),
                Rule::agent_prompt => a.prompt = kids(e).next().map(|t| self.text(t)),
                Rule::agent_modes => {
                    a.modes = kids(e).next().map(|l| self.names(l)).unwrap_or_default();
                }
                Rule::agent_tools => {
                    a.tools = kids(e).next().map(|l| self.names(l)).unwrap_or_default();
                }
                Rule::agent_model => a.model = kids(e).next().map(|t| self.text(t)),
                Rule::agent_limits => a.limits = self.limit_entries(e),
                _ => a.backend = kids(e).next().map(|b| self.backend(b)),
            }
        }
        a
    }

    fn backend(&mut self, b: P) -> Backend {
        match b.as_rule() {
            Rule::backend_exec => {
                let mut k = kids(b);
                let command = k
                    .next()
                    .map_or_else(|| missing_text(Span::default()), |t| self.text(t));
                let (mut stdin, mut cwd, mut timeout, mut output) = (false, None, None, None);
                for o in k {
                    match o.as_rule() {
                        Rule::exec_stdin => stdin = true,
                        Rule::exec_cwd => cwd = kids(o).next().map(|t| self.text(t)),
                        Rule::exec_output => output = kids(o).next().map(|n| self.name(n)),
                        _ => timeout = self.first_quantity(o),
                    }
                }
                Backend::Exec {
                    command,
                    stdin,
                    cwd,
                    timeout,
                    output,
                }
            }
            Rule::backend_script => match kids(b).next() {
                Some(c) if c.as_rule() == Rule::rhai => Backend::Script {
                    code: Some(self.script(c)),
                    function: None,
                },
                Some(c) => Backend::Script {
                    code: None,
                    function: Some(self.name(c)),
                },
                None => Backend::Script {
                    code: None,
                    function: None,
                },
            },
            Rule::backend_git => {
                let (mut pr, mut base) = (None, None);
                for o in kids(b) {
                    match o.as_rule() {
                        Rule::git_pr => pr = kids(o).next().map(|t| self.text(t)),
                        _ => base = kids(o).next().map(|t| self.text(t)),
                    }
                }
                Backend::Git { pr, base }
            }
            _ => {
                let (mut duration, mut fail, mut seed) = (None, None, None);
                for o in kids(b) {
                    match o.as_rule() {
                        Rule::sim_duration => duration = self.first_quantity(o),
                        Rule::sim_fail => fail = self.first_quantity(o),
                        _ => seed = kids(o).next().map(|c| self.count(c)),
                    }
                }
                Backend::Sim {
                    duration,
                    fail,
                    seed,
                }
            }
        }
    }

    fn story(&mut self, p: P, span: Span) -> Option<Story> {
        let mut k = kids(p);
        let id = self.string_name(k.next()?);
        let story_type = self.next_name(&mut k, span);
        let mut s = Story {
            id,
            story_type,
            epic: None,
            title: None,
            from_prd: None,
            from_arch: None,
            after: Vec::new(),
            modify: Vec::new(),
            create: Vec::new(),
            accept: Vec::new(),
            span,
        };
        for e in k {
            let rule = e.as_rule();
            let mut v = kids(e);
            match rule {
                Rule::st_epic => s.epic = v.next().map(|c| self.string_name(c)),
                Rule::st_title => s.title = v.next().map(|c| self.text(c)),
                Rule::st_from_prd => s.from_prd = v.next().map(|c| self.text(c)),
                Rule::st_from_arch => s.from_arch = v.next().map(|c| self.text(c)),
                Rule::st_after => {
                    if let Some(l) = v.next() {
                        s.after.extend(l.into_inner().map(|c| self.string_name(c)));
                    }
                }
                Rule::st_modify => {
                    if let Some(path) = v.next().map(|c| self.text(c)) {
                        let changes = v.next().map(|c| self.text(c));
                        push_exact(&mut s.modify, FileChange { path, changes });
                    }
                }
                Rule::st_create => {
                    if let Some(path) = v.next().map(|c| self.text(c)) {
                        let template = v.next().map(|c| self.text(c));
                        push_exact(&mut s.create, NewFile { path, template });
                    }
                }
                _ => {
                    if let Some(t) = v.next().map(|c| self.text(c)) {
                        push_exact(&mut s.accept, t);
                    }
                }
            }
        }
        Some(s)
    }

    fn heal(&mut self, p: P, span: Span) -> Heal {
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
                _ => h.otherwise = v.next().map(|s| self.step(s)),
            }
        }
        h
    }

    fn incidents(&mut self, p: P, span: Span) -> Incidents {
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

    fn monitor(&mut self, p: P, span: Span) -> Monitor {
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
                        threshold: crate::ir::step::Quantity {
                            value: None,
                            span: espan,
                        },
                        level: None,
                        actions: Actions {
                            list: Vec::new(),
                            cooldown: None,
                        },
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
                            _ => rule.actions = self.actions(c),
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
                        actions: Actions {
                            list: Vec::new(),
                            cooldown: None,
                        },
                        span: espan,
                    };
                    for c in v {
                        match c.as_rule() {
                            Rule::pattern_severity => {
                                rule.severity = Some(self.next_name(&mut kids(c), espan));
                            }
                            _ => rule.actions = self.actions(c),
                        }
                    }
                    m.patterns.push(rule);
                }
                _ => {
                    let mut v = kids(e);
                    let Some(level) = v.next() else { continue };
                    let status = status(level.as_str());
                    let actions = v.next().map_or(
                        Actions {
                            list: Vec::new(),
                            cooldown: None,
                        },
                        |a| self.actions(a),
                    );
                    m.on_status.push(StatusRule {
                        status,
                        actions,
                        span: espan,
                    });
                }
            }
        }
        m
    }

    fn health(&mut self, e: P, span: Span) -> Health {
        let mut v = kids(e);
        let name = self.next_name(&mut v, span);
        let mut probe = Probe {
            method: String::new(),
            target: missing_text(span),
            expect: None,
            timeout: None,
            every: None,
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
        Health {
            name,
            probe: health_probe.unwrap_or(HealthProbe::Probe(probe)),
            expect,
            timeout,
            every,
            actions,
            span,
        }
    }

    fn actions(&mut self, p: P) -> Actions {
        let mut a = Actions {
            list: Vec::new(),
            cooldown: None,
        };
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
