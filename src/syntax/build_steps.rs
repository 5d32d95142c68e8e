//! Builds the steps inside blocks (tasks, handoffs, conditions, loops, probes, ...) from
//! pest pairs: the core step nodes of the IR.

use super::grammar::Rule;
use crate::model::step::{
    AssignArm, CallKind, Cond, Handoff, MatchArm, Probe, ProbeMethod, Produced, Quantity, Step,
    StepKind, Task,
};
use crate::source::Span;

use super::builder::{Builder, P, is_keyword, missing, missing_text};

impl Builder<'_> {
    /// The steps of a `block`; a trailing `on failure { }` guards the steps before it.
    pub(super) fn block(&mut self, p: P) -> Vec<Step> {
        let inner = p.into_inner();
        // Sized by the pairs of the block: most hold a step or two, and a list grown by
        // push holds four (608 bytes).
        let mut steps = Vec::with_capacity(inner.len());
        for c in inner {
            if c.as_rule() == Rule::on_failure {
                let span = self.span(&c);
                let handler = c
                    .into_inner()
                    .find(|b| b.as_rule() == Rule::block)
                    .map(|b| self.block(b))
                    .unwrap_or_default();
                let body = std::mem::take(&mut steps);
                steps.push(Step {
                    span,
                    kind: StepKind::OnFailure { body, handler },
                });
            } else {
                steps.push(self.step(c));
            }
        }
        steps
    }

    /// One step.
    pub(super) fn step(&mut self, p: P) -> Step {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut kids = p.into_inner().filter(|c| !is_keyword(c.as_rule()));
        let kind = match rule {
            Rule::task => self.task(kids),
            Rule::handoff => self.handoff(kids),
            Rule::parallel => {
                let mut max = None;
                let mut branches = Vec::new();
                for c in kids {
                    match c.as_rule() {
                        Rule::max_clause => max = self.max(c),
                        Rule::branches => {
                            branches = c.into_inner().map(|b| self.step(b)).collect();
                        }
                        _ => {}
                    }
                }
                StepKind::Parallel { max, branches }
            }
            Rule::for_each => {
                let var = kids.next().map(|c| self.name(c));
                let source = kids.next().map(|c| self.name(c));
                let (mut max, mut body) = (None, Vec::new());
                for c in kids {
                    match c.as_rule() {
                        Rule::max_clause => max = self.max(c),
                        Rule::block => body = self.block(c),
                        _ => {}
                    }
                }
                StepKind::ForEach {
                    var: var.unwrap_or_else(|| missing(span)),
                    source: source.unwrap_or_else(|| missing(span)),
                    max,
                    body,
                }
            }
            Rule::repeat => {
                let (mut max, mut body, mut until) = (None, Vec::new(), None);
                for c in kids {
                    match c.as_rule() {
                        Rule::max_clause => max = self.max(c),
                        Rule::until_clause => {
                            until = c
                                .into_inner()
                                .find(|x| x.as_rule() == Rule::cond)
                                .map(|x| self.cond(x));
                        }
                        Rule::block => body = self.block(c),
                        _ => {}
                    }
                }
                StepKind::Repeat { max, body, until }
            }
            Rule::retry => {
                let (mut max, mut backoff, mut body) = (None, None, Vec::new());
                for c in kids {
                    match c.as_rule() {
                        Rule::max_clause => max = self.max(c),
                        Rule::backoff_clause => backoff = self.first_quantity(c),
                        Rule::block => body = self.block(c),
                        _ => {}
                    }
                }
                StepKind::Retry { max, backoff, body }
            }
            Rule::if_step => self.if_step(kids),
            Rule::match_step => {
                let subject = kids.next().map(|c| self.cond(c));
                let arms = kids
                    .map(|arm| {
                        let mut parts = arm.into_inner();
                        let pattern = parts.next().map(|c| self.name(c));
                        let body = parts.next().map(|c| match c.as_rule() {
                            Rule::block => self.block(c),
                            _ => vec![self.step(c)],
                        });
                        MatchArm {
                            pattern: pattern.unwrap_or_else(|| missing(span)),
                            body: body.unwrap_or_default(),
                        }
                    })
                    .collect();
                StepKind::Match {
                    subject: subject.unwrap_or(Cond::Path(missing(span))),
                    arms,
                }
            }
            Rule::try_step => {
                let body = kids.next().map(|c| self.block(c)).unwrap_or_default();
                let handler = kids.next().map(|c| self.block(c)).unwrap_or_default();
                StepKind::OnFailure { body, handler }
            }
            Rule::sh_step => {
                let command = kids.next().map(|c| self.text(c));
                let timeout = kids.next().and_then(|c| self.first_quantity(c));
                StepKind::Sh {
                    command: command.unwrap_or_else(|| missing_text(span)),
                    timeout,
                }
            }
            Rule::wait_step => StepKind::Wait {
                duration: kids
                    .next()
                    .map_or(Quantity { value: None, span }, |c| self.quantity(c)),
            },
            Rule::probe_step => StepKind::Probe(Box::new(self.probe(kids))),
            Rule::check_step => match kids.next() {
                Some(c) if c.as_rule() == Rule::rhai => StepKind::Check {
                    checks: Vec::new(),
                    script: Some(self.script(c)),
                    must_pass: true,
                },
                Some(c) => StepKind::Check {
                    checks: self.names(c),
                    script: None,
                    must_pass: true,
                },
                None => StepKind::Fail {
                    reason: "empty check".into(),
                },
            },
            Rule::verify_step => StepKind::Check {
                checks: kids.next().map(|c| self.names(c)).unwrap_or_default(),
                script: None,
                must_pass: true,
            },
            Rule::call_step | Rule::heal_step => StepKind::Call {
                target: self.next_name(&mut kids, span),
                kind: if rule == Rule::heal_step {
                    CallKind::Heal
                } else {
                    CallKind::Call
                },
            },
            Rule::escalate_step => StepKind::Escalate {
                level: self.next_name(&mut kids, span),
            },
            Rule::alert_step => {
                let (mut to, mut message) = (None, None);
                for c in kids {
                    match c.as_rule() {
                        Rule::ident => to = Some(self.name(c)),
                        Rule::string => message = Some(self.text(c)),
                        _ => {}
                    }
                }
                StepKind::Alert {
                    to,
                    message: message.unwrap_or_else(|| missing_text(span)),
                }
            }
            Rule::notify_step => {
                let to = kids.next().map(|c| self.names(c)).unwrap_or_default();
                let message = kids.next().map(|c| self.text(c));
                StepKind::Notify { to, message }
            }
            Rule::deploy_step => {
                let environment = self.next_name(&mut kids, span);
                let by = kids.next().map(|c| self.name(c));
                StepKind::Deploy { environment, by }
            }
            Rule::rollback_step => StepKind::Rollback {
                environment: self.next_name(&mut kids, span),
            },
            Rule::assign_step => {
                let var = self.next_name(&mut kids, span);
                let by = self.next_name(&mut kids, span);
                let arms = kids
                    .map(|arm| {
                        let mut parts = arm.into_inner();
                        AssignArm {
                            story_type: self.next_name(&mut parts, span),
                            agent: self.next_name(&mut parts, span),
                        }
                    })
                    .collect();
                StepKind::Assign { var, by, arms }
            }
            Rule::isolate_step => StepKind::Isolate {
                target: self.next_name(&mut kids, span),
            },
            Rule::stop_writes_step => StepKind::StopWrites {
                target: self.next_name(&mut kids, span),
            },
            Rule::report_step => StepKind::Report {
                message: kids.next().map(|c| self.text(c)),
            },
            Rule::watch_step => StepKind::Watch {
                monitor: self.next_name(&mut kids, span),
            },
            Rule::approve_step => {
                let name = self.next_name(&mut kids, span);
                let mut approve = crate::model::step::Approve {
                    name,
                    prompt: None,
                    by: Vec::new(),
                };
                for k in kids {
                    match k.as_rule() {
                        Rule::approve_by => {
                            approve.by = k
                                .into_inner()
                                .find(|c| c.as_rule() == Rule::ident_list)
                                .map(|l| self.names(l))
                                .unwrap_or_default();
                        }
                        Rule::string | Rule::text_block => approve.prompt = Some(self.text(k)),
                        _ => {}
                    }
                }
                StepKind::Approve(Box::new(approve))
            }
            other => StepKind::Fail {
                reason: format!("unsupported step {other:?}"),
            },
        };
        Step { span, kind }
    }

    fn task<'i>(&mut self, mut kids: impl Iterator<Item = P<'i>>) -> StepKind {
        let mut task = Task {
            agent: kids
                .next()
                .map_or_else(|| missing(Span::default()), |c| self.name(c)),
            tasks: Vec::new(),
            mode: None,
            needs: Vec::new(),
            produces: Vec::new(),
            context: Vec::new(),
            tests: Vec::new(),
            prompt: None,
            timeout: None,
            verdict: false,
        };
        for c in kids {
            match c.as_rule() {
                Rule::ident_list => task.tasks = self.names(c),
                Rule::task_mode => {
                    task.mode = c
                        .into_inner()
                        .find(|x| x.as_rule() == Rule::ident)
                        .map(|x| self.name(x));
                }
                Rule::task_body => {
                    for opt in c.into_inner() {
                        let rule = opt.as_rule();
                        let mut parts = opt.into_inner().filter(|x| !is_keyword(x.as_rule()));
                        match rule {
                            Rule::opt_needs => task.needs.extend(
                                parts
                                    .next()
                                    .map(|x| self.artifact_refs(x))
                                    .unwrap_or_default(),
                            ),
                            Rule::opt_produces => {
                                for decl in parts {
                                    let span = self.span(&decl);
                                    let mut name = None;
                                    let mut path = None;
                                    for x in decl.into_inner() {
                                        match x.as_rule() {
                                            Rule::ident => name = Some(self.name(x)),
                                            Rule::string => path = Some(self.text(x)),
                                            _ => {}
                                        }
                                    }
                                    task.produces.push(Produced { name, path, span });
                                }
                            }
                            Rule::opt_context => task
                                .context
                                .extend(parts.next().map(|x| self.names(x)).unwrap_or_default()),
                            Rule::opt_tests => task
                                .tests
                                .extend(parts.next().map(|x| self.names(x)).unwrap_or_default()),
                            Rule::opt_prompt => task.prompt = parts.next().map(|x| self.text(x)),
                            Rule::opt_timeout => {
                                task.timeout = parts.next().map(|x| self.quantity(x));
                            }
                            Rule::opt_verdict => task.verdict = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        StepKind::Task(Box::new(task))
    }

    fn handoff<'i>(&mut self, mut kids: impl Iterator<Item = P<'i>>) -> StepKind {
        let from = kids.next().map(|c| self.name(c));
        let to = kids.next().map(|c| self.name(c));
        let mut h = Handoff {
            from: from.unwrap_or_else(|| missing(Span::default())),
            to: to.unwrap_or_else(|| missing(Span::default())),
            artifacts: Vec::new(),
            completed: Vec::new(),
            pending: Vec::new(),
            notes: None,
        };
        for body in kids {
            for entry in body.into_inner() {
                let rule = entry.as_rule();
                let Some(value) = entry.into_inner().find(|x| !is_keyword(x.as_rule())) else {
                    continue;
                };
                match rule {
                    Rule::ho_artifacts => h.artifacts.extend(self.artifact_refs(value)),
                    Rule::ho_completed => h.completed.extend(self.names(value)),
                    Rule::ho_pending => h.pending.extend(self.names(value)),
                    Rule::ho_notes => h.notes = Some(self.text(value)),
                    _ => {}
                }
            }
        }
        StepKind::Handoff(Box::new(h))
    }

    fn if_step<'i>(&mut self, mut kids: impl Iterator<Item = P<'i>>) -> StepKind {
        let cond = kids.next().map(|c| self.cond(c));
        let then = kids.next().map(|c| self.block(c)).unwrap_or_default();
        let otherwise = match kids.next() {
            Some(else_clause) => {
                match else_clause.into_inner().find(|x| !is_keyword(x.as_rule())) {
                    Some(x) if x.as_rule() == Rule::if_step => vec![self.step(x)],
                    Some(x) => self.block(x),
                    None => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        StepKind::If {
            cond: cond.unwrap_or(Cond::Path(missing(Span::default()))),
            then,
            otherwise,
        }
    }

    /// A probe from the pairs of `probe_step` (`http_probe` or `tcp_probe`, then options).
    pub(super) fn probe<'i>(&mut self, kids: impl Iterator<Item = P<'i>>) -> Probe {
        let mut probe = Probe {
            // Every probe's spec sets it (the grammar has no probe without one).
            method: ProbeMethod::Get,
            target: missing_text(Span::default()),
            expect: None,
            timeout: None,
            every: None,
            ca_file: None,
        };
        for c in kids {
            self.probe_part(&mut probe, c);
        }
        probe
    }

    /// Applies one part of a probe (its spec or an option).
    pub(super) fn probe_part(&mut self, probe: &mut Probe, c: P) {
        let rule = c.as_rule();
        let mut parts = c.into_inner();
        match rule {
            Rule::http_probe => {
                if let Some(m) = parts.next() {
                    probe.method = ProbeMethod::from_word(m.as_str()).unwrap_or(ProbeMethod::Get);
                }
                if let Some(t) = parts.next() {
                    probe.target = self.text(t);
                }
            }
            Rule::tcp_probe => {
                probe.method = ProbeMethod::Tcp;
                if let Some(t) = parts.find(|x| x.as_rule() == Rule::string) {
                    probe.target = self.text(t);
                }
            }
            Rule::probe_expect => {
                probe.expect = parts
                    .find(|x| x.as_rule() == Rule::int)
                    .map(|x| self.count(x));
            }
            Rule::probe_timeout => {
                probe.timeout = parts
                    .find(|x| x.as_rule() == Rule::quantity)
                    .map(|x| self.quantity(x));
            }
            Rule::probe_ca_file => {
                probe.ca_file = parts
                    .find(|x| x.as_rule() == Rule::string)
                    .map(|x| self.text(x));
            }
            Rule::probe_every => {
                probe.every = parts
                    .find(|x| x.as_rule() == Rule::quantity)
                    .map(|x| self.quantity(x));
            }
            _ => {}
        }
    }
}
