//! Builds agents and their backends.

use super::kids;
use crate::source::Span;
use crate::syntax::ast::{Agent, Backend};
use crate::syntax::builder::{Builder, P, missing_text};
use crate::syntax::grammar::Rule;

impl Builder<'_> {
    pub(super) fn agent(&mut self, p: P, span: Span) -> Agent {
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
                Rule::agent_backend => a.backend = kids(e).next().map(|b| self.backend(b)),
                _ => {}
            }
        }
        a
    }

    pub(super) fn backend(&mut self, b: P) -> Backend {
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
                        Rule::exec_timeout => timeout = self.first_quantity(o),
                        _ => {}
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
                        Rule::git_base => base = kids(o).next().map(|t| self.text(t)),
                        _ => {}
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
                        Rule::sim_seed => seed = kids(o).next().map(|c| self.count(c)),
                        _ => {}
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
}
