//! Builds steps (the core of every block) and the small shared pieces: names, texts,
//! quantities, conditions.

use super::grammar::Rule;
use super::literal::{parse_quantity, unescape};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::step::{
    ArtifactRef, AssignArm, CallKind, Cond, Count, Handoff, MatchArm, Name, Probe, Produced,
    Quantity, Script, Step, StepKind, Task, Text,
};
use crate::source::{FileId, Span};
use compact_str::CompactString;
use pest::iterators::Pair;

/// Turns pest pairs into AST nodes, collecting literal diagnostics on the way.
pub(super) struct Builder<'d> {
    /// The file being built.
    pub file: FileId,
    /// Byte offset of the chunk being built within the file.
    pub offset: usize,
    /// Diagnostics found while building.
    pub diags: &'d mut Vec<Diagnostic>,
}

/// Shorthand for a pest pair of this grammar.
pub(super) type P<'i> = Pair<'i, Rule>;

// Pairs are taken by value, as pest's iterators hand them out (a pair is a cheap cursor).
#[allow(clippy::needless_pass_by_value)]
impl Builder<'_> {
    /// The span of a pair in file coordinates.
    pub(super) fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    /// A name from an `ident`, `path`, `agent_ref` or `match_pattern` pair.
    pub(super) fn name(&self, p: P) -> Name {
        Name {
            name: p.as_str().into(),
            span: self.span(&p),
        }
    }

    /// A name from a `string` pair (story and epic ids).
    pub(super) fn string_name(&self, p: P) -> Name {
        let text = self.text(p);
        Name {
            name: text.value,
            span: text.span,
        }
    }

    /// The names of an `ident_list`.
    pub(super) fn names(&self, p: P) -> Vec<Name> {
        let inner = p.into_inner();
        // Sized by the pairs in the list (collecting a filter would hold four places).
        let mut names = Vec::with_capacity(inner.len());
        names.extend(
            inner
                .filter(|c| c.as_rule() == Rule::ident)
                .map(|c| self.name(c)),
        );
        names
    }

    /// The texts of a `string_list`.
    pub(super) fn texts(&self, p: P) -> Vec<Text> {
        p.into_inner().map(|c| self.text(c)).collect()
    }

    /// A text from a `string` or `text_block` pair.
    pub(super) fn text(&self, p: P) -> Text {
        let span = self.span(&p);
        let inner = p.into_inner().next();
        let value = match inner {
            Some(i) if i.as_rule() == Rule::text_inner => dedent(i.as_str()).into(),
            Some(i) if i.as_str().contains('\\') => unescape(i.as_str()).into(),
            Some(i) => i.as_str().into(),
            None => CompactString::default(),
        };
        Text { value, span }
    }

    /// A typed literal; a malformed one is reported and kept with no value.
    pub(super) fn quantity(&mut self, p: P) -> Quantity {
        let span = self.span(&p);
        let value = match parse_quantity(p.as_str()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(Code::InvalidLiteral, e.message.clone())
                        .at(span, "not a valid literal")
                        .help(e.help),
                );
                None
            }
        };
        Quantity { value, span }
    }

    /// A whole number from an `int` pair.
    pub(super) fn count(&mut self, p: P) -> Count {
        let span = self.span(&p);
        let digits: String = p.as_str().chars().filter(|c| *c != '_').collect();
        let value = digits.parse().unwrap_or_else(|_| {
            self.diags.push(
                Diagnostic::error(
                    Code::InvalidLiteral,
                    format!("`{}` is too large", p.as_str()),
                )
                .at(span, "too large")
                .help("use a number below 2^64"),
            );
            0
        });
        Count { value, span }
    }

    /// The number of a `max_clause`.
    pub(super) fn max(&mut self, p: P) -> Option<Count> {
        p.into_inner()
            .find(|c| c.as_rule() == Rule::int)
            .map(|c| self.count(c))
    }

    /// rhai code from a `rhai` pair.
    pub(super) fn script(&self, p: P) -> Script {
        let code = p.into_inner().next();
        match code {
            Some(c) => Script {
                code: c.as_str().to_string(),
                span: self.span(&c),
            },
            None => Script {
                code: String::new(),
                span: Span::default(),
            },
        }
    }

    /// A condition from a `cond` pair.
    pub(super) fn cond(&self, p: P) -> Cond {
        match p.into_inner().next() {
            Some(c) if c.as_rule() == Rule::rhai => Cond::Script(self.script(c)),
            Some(c) => Cond::Path(self.name(c)),
            None => Cond::Path(missing(Span::default())),
        }
    }

    /// The artifacts of an `artifact_refs` pair.
    pub(super) fn artifact_refs(&self, p: P) -> Vec<ArtifactRef> {
        p.into_inner()
            .map(|c| match c.as_rule() {
                Rule::string => ArtifactRef::Path(self.text(c)),
                _ => ArtifactRef::Named(self.name(c)),
            })
            .collect()
    }

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
                        _ => branches = c.into_inner().map(|b| self.step(b)).collect(),
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
                        _ => body = self.block(c),
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
                        _ => body = self.block(c),
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
                        _ => body = self.block(c),
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
                        _ => message = Some(self.text(c)),
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
                                            _ => path = Some(self.text(x)),
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
            method: String::new(),
            target: missing_text(Span::default()),
            expect: None,
            timeout: None,
            every: None,
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
                    probe.method = m.as_str().to_string();
                }
                if let Some(t) = parts.next() {
                    probe.target = self.text(t);
                }
            }
            Rule::tcp_probe => {
                probe.method = "tcp".into();
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
            Rule::probe_every => {
                probe.every = parts
                    .find(|x| x.as_rule() == Rule::quantity)
                    .map(|x| self.quantity(x));
            }
            _ => {}
        }
    }

    /// The first quantity inside a pair (`timeout 5s`, `backoff 1s`).
    pub(super) fn first_quantity(&mut self, p: P) -> Option<Quantity> {
        p.into_inner()
            .find(|c| c.as_rule() == Rule::quantity)
            .map(|c| self.quantity(c))
    }

    /// The next child as a name, or a placeholder the checker ignores.
    pub(super) fn next_name<'i>(&self, kids: &mut impl Iterator<Item = P<'i>>, at: Span) -> Name {
        kids.find(|c| !is_keyword(c.as_rule()))
            .map_or_else(|| missing(at), |c| self.name(c))
    }
}

/// A name that is not there: a placeholder the checker ignores.
fn missing(span: Span) -> Name {
    Name {
        name: CompactString::default(),
        span,
    }
}

/// Text that is not there.
pub(super) fn missing_text(span: Span) -> Text {
    Text {
        value: CompactString::default(),
        span,
    }
}

/// Pushes `x`, holding one place when it is the first item: most lists of an item (a
/// story's files and criteria) hold one, and a list grown by push holds four. A workflow
/// can have a hundred thousand stories.
pub(super) fn push_exact<T>(v: &mut Vec<T>, x: T) {
    if v.capacity() == 0 {
        v.reserve_exact(1);
    }
    v.push(x);
}

/// True for the `kw_*` rules (keywords carry no data).
pub(super) fn is_keyword(rule: Rule) -> bool {
    let r = rule as usize;
    r >= Rule::kw_accept as usize && r <= Rule::kw_workflow as usize
}

/// Removes the common indentation of a `"""` text block and its first and last blank lines.
fn dedent(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().collect();
    let body: Vec<&str> = lines
        .iter()
        .copied()
        .skip_while(|l| l.trim().is_empty())
        .collect();
    let end = body
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let body = &body[..end];
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_rules_are_contiguous() {
        assert!(is_keyword(Rule::kw_check));
        assert!(is_keyword(Rule::kw_accept));
        assert!(is_keyword(Rule::kw_workflow));
        assert!(!is_keyword(Rule::ident));
        assert!(!is_keyword(Rule::EOI));
        assert!(!is_keyword(Rule::workflow));
    }

    #[test]
    fn text_blocks_are_dedented() {
        assert_eq!(dedent("\n    a\n      b\n  "), "a\n  b");
    }
}
