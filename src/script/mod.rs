//! rhai, the one expression language of bmad: a sandboxed engine built from the workflow
//! (limits, workspace, declared environment variables and hosts), compiled scripts
//! checked during `bmad check`, and evaluation with a deadline.

pub mod bounds;
mod check;
mod eval;
pub mod host;
pub mod limits;
pub mod memory;
mod scope;
pub mod stack;
mod values;

pub use check::{Compiled, InSteps, agent_script, check_scripts, compile_program, span_at};
pub use eval::{EvalError, TimeLimit, evaluate};
pub use limits::Limits;
pub use memory::CountingAllocator;
pub use scope::{scope_with, standard_scope};
pub use values::printable;

use crate::ir::Program;
use crate::model::step::{Step, StepKind, walk};
use crate::model::{HealthProbe, SettingValue};
use rhai::Engine;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What a script may reach: the workspace, the environment variables and the hosts the
/// workflow declares.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    /// Limits on every evaluation.
    pub limits: Limits,
    /// Root of the workspace; file functions refuse paths outside it.
    pub workspace: PathBuf,
    /// Declared environment variables: name, default, and whether it is secret.
    pub env: Vec<(String, Option<String>, bool)>,
    /// Hosts network functions may reach.
    pub hosts: BTreeSet<String>,
}

impl Sandbox {
    /// The sandbox a program declares, with `workspace` as its root.
    pub fn for_program(p: &Program, workspace: PathBuf) -> Sandbox {
        let mut hosts = BTreeSet::new();
        for body in p.bodies() {
            walk(body, &mut |s| probe_host(s, &mut hosts));
        }
        hosts_outside_steps(p, &mut hosts);
        Sandbox::new(p, workspace, hosts)
    }

    /// The sandbox `p` declares with `workspace` as its root, given its declared hosts.
    fn new(p: &Program, workspace: PathBuf, hosts: BTreeSet<String>) -> Sandbox {
        let env = p
            .env_vars
            .iter()
            .map(|e| {
                let default = e.default.as_ref().map(|d| d.value.to_string());
                (e.name.name.to_string(), default, e.secret)
            })
            .collect();
        // File functions compare real paths against the real root.
        let workspace = workspace.canonicalize().unwrap_or(workspace);
        Sandbox {
            limits: Limits::from_program(p),
            workspace,
            env,
            hosts,
        }
    }

    /// Whether a secret environment variable has a value to hide.
    pub fn has_secrets(&self) -> bool {
        self.env.iter().any(|(name, default, secret)| {
            *secret
                && std::env::var(name)
                    .ok()
                    .or_else(|| default.clone())
                    .is_some_and(|v| v.len() >= 3)
        })
    }

    /// `text` with the value of every secret environment variable replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, default, secret) in &self.env {
            if !secret {
                continue;
            }
            let value = std::env::var(name).ok().or_else(|| default.clone());
            if let Some(v) = value.filter(|v| v.len() >= 3) {
                out = out.replace(&v, "***");
            }
        }
        out
    }
}

/// Stops every evaluation of one [`Scripts`] (see [`Scripts::cancel_handle`]).
#[derive(Debug, Clone)]
pub struct CancelHandle(Arc<AtomicBool>);

impl CancelHandle {
    /// Stops the running evaluations and every later one.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The error of an evaluation whose thread failed.
fn thread_failed(e: &tokio::task::JoinError, span: crate::source::Span) -> EvalError {
    EvalError {
        message: format!("the script's thread failed: {e}"),
        limit: None,
        position: None,
        span: Some(span),
    }
}

/// The host part of a URL or `host:port`.
pub fn host_of(target: &str) -> Option<String> {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else if authority.matches(':').count() > 1 {
        authority // a bare IPv6 address
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The host a probe step reaches, as declared by the workflow.
fn probe_host(s: &Step, hosts: &mut BTreeSet<String>) {
    if let StepKind::Probe(pr) = &s.kind {
        hosts.extend(host_of(&pr.target.value));
    }
}

/// Hosts the workflow declares outside steps: `settings { hosts ... }`, environment URLs,
/// health probes, alert and notification webhooks ([`probe_host`] takes those of probe
/// steps).
fn hosts_outside_steps(p: &Program, hosts: &mut BTreeSet<String>) {
    for s in p.settings.iter().filter(|s| s.name.name == "hosts") {
        match &s.value {
            SettingValue::Text(t) => hosts.extend(
                t.value
                    .split([',', ' '])
                    .filter(|h| !h.is_empty())
                    .map(str::to_string),
            ),
            SettingValue::Names(n) => hosts.extend(n.iter().map(|x| x.name.to_string())),
            SettingValue::Quantity(_) => {}
        }
    }
    for e in &p.environments {
        hosts.extend(e.url.as_ref().and_then(|u| host_of(&u.value)));
    }
    // Webhooks the run's notifications go to.
    for to in p.notifications.iter().flat_map(|n| &n.to) {
        if to.value.contains("://") {
            hosts.extend(host_of(&to.value));
        }
    }
    for m in &p.monitors {
        for h in &m.health {
            if let HealthProbe::Probe(pr) = &h.probe {
                hosts.extend(host_of(&pr.target.value));
            }
        }
        // Webhooks the monitor's alerts are sent to.
        let rules = m.health.iter().filter_map(|h| h.actions.as_ref());
        let rules = rules
            .chain(m.metrics.iter().map(|r| &r.actions))
            .chain(m.patterns.iter().map(|r| &r.actions))
            .chain(m.on_status.iter().map(|r| &r.actions));
        for a in rules.flat_map(|a| &a.list) {
            if let crate::model::ActionKind::Alert {
                channel: Some(c), ..
            } = &a.kind
                && c.value.contains("://")
            {
                hosts.extend(host_of(&c.value));
            }
        }
    }
}

/// The rhai packages scripts get, built once per process and shared by every engine.
fn packages() -> &'static [rhai::Shared<rhai::Module>] {
    use rhai::packages::{
        BasicArrayPackage, BasicMapPackage, BasicMathPackage, CorePackage, MoreStringPackage,
        Package,
    };
    static PACKAGES: std::sync::OnceLock<Vec<rhai::Shared<rhai::Module>>> =
        std::sync::OnceLock::new();
    PACKAGES.get_or_init(|| {
        vec![
            CorePackage::new().as_shared_module(),
            BasicArrayPackage::new().as_shared_module(),
            BasicMapPackage::new().as_shared_module(),
            BasicMathPackage::new().as_shared_module(),
            MoreStringPackage::new().as_shared_module(),
        ]
    })
}

/// Names of the functions the packages provide, computed once per process.
pub(crate) fn package_functions() -> &'static std::collections::BTreeSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::BTreeSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut engine = Engine::new_raw();
        for package in packages() {
            engine.register_global_module(package.clone());
        }
        engine
            .gen_fn_signatures(true)
            .into_iter()
            .filter_map(|sig| sig.split('(').next().map(|n| n.trim().to_string()))
            .collect()
    })
}

/// A raw rhai engine with only what scripts need: core language, arithmetic, strings,
/// arrays, maps and math; no file, module or process access besides the host API; every
/// limit set.
pub fn engine(sandbox: &Sandbox) -> Engine {
    let mut engine = Engine::new_raw();
    for package in packages() {
        engine.register_global_module(package.clone());
    }
    let l = &sandbox.limits;
    engine
        .set_strict_variables(true)
        .set_max_operations(l.max_operations)
        .set_max_call_levels(l.max_call_depth)
        .set_max_expr_depths(l.max_expr_depth, l.max_expr_depth)
        .set_max_string_size(l.max_string)
        .set_max_array_size(l.max_array)
        .set_max_map_size(l.max_map)
        .set_max_modules(0);
    engine.disable_symbol("eval");
    bounds::install(&mut engine);
    host::register(&mut engine, Arc::new(sandbox.clone()));
    engine
}

/// A workflow's scripts ready to run: the sandboxed engine, the compiled ASTs and the
/// limits. Build it once per run; evaluate from any thread (the engine is `Sync`).
pub struct Scripts {
    engine: Engine,
    compiled: Compiled,
    sandbox: Sandbox,
    /// Set by [`Scripts::cancel`]: every evaluation of these scripts stops.
    cancel: Arc<AtomicBool>,
}

impl Scripts {
    /// Compiles every script of `p` for a run in `workspace`; diagnostics as in `bmad check`.
    pub fn new(p: &Program, workspace: PathBuf) -> (Scripts, Vec<crate::diagnostic::Diagnostic>) {
        let sandbox = Sandbox::for_program(p, workspace);
        let (engine, compiled, diags) = compile_program(p, &sandbox);
        let scripts = Scripts {
            engine,
            compiled,
            sandbox,
            cancel: Arc::default(),
        };
        (scripts, diags)
    }

    /// What the scripts (and the runtime's probes and webhooks) may reach.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// A handle that stops every evaluation of these scripts, running or to come, from
    /// any thread (the run is stopping): each ends within milliseconds, saying so.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle(Arc::clone(&self.cancel))
    }

    /// Evaluates the script written at `script` (a check body, condition, gate, ...).
    /// A failure carries the place in the .bmad file where the script failed.
    ///
    /// # Errors
    ///
    /// An [`EvalError`] with the place in the file, when the script fails as
    /// [`eval::evaluate`] says.
    pub fn eval(
        &self,
        script: &crate::model::step::Script,
        scope: &mut rhai::Scope,
    ) -> Result<rhai::Dynamic, EvalError> {
        self.eval_within(script, scope, TimeLimit::of(&self.sandbox.limits), None)
    }

    /// [`Scripts::eval`] with its own time limit (a script agent's task `timeout`), also
    /// stopped when `stop` is set.
    fn eval_within(
        &self,
        script: &crate::model::step::Script,
        scope: &mut rhai::Scope,
        time: TimeLimit,
        stop: Option<&Arc<AtomicBool>>,
    ) -> Result<rhai::Dynamic, EvalError> {
        let Some(ast) = self.compiled.get(script.span) else {
            return Err(EvalError {
                message: "this script did not compile (see `bmad check`)".into(),
                limit: None,
                position: None,
                span: Some(script.span),
            });
        };
        // Variables a script declares do not outlive it.
        let size = scope.len();
        let cancel = [Some(&self.cancel), stop].into_iter().flatten().cloned();
        let cancel = cancel.collect();
        let limits = &self.sandbox.limits;
        let result = evaluate(&self.engine, ast, scope, limits, time, cancel).map_err(|mut e| {
            e.span = Some(match e.position {
                Some((line, col)) => span_at(script, line, col, 1),
                None => script.span,
            });
            e.message = self.sandbox.redact(&e.message);
            e
        });
        scope.rewind(size);
        result
    }

    /// Compiles and evaluates `code` (an expression typed at the REPL) in `scope`, which
    /// keeps the variables it declares; the same sandbox and limits as the workflow's own
    /// scripts.
    /// `functions` holds the functions typed before; those `code` declares join them.
    ///
    /// # Errors
    ///
    /// An [`EvalError`] when `code` does not compile or its evaluation fails.
    pub fn eval_text(
        &self,
        code: &str,
        scope: &mut rhai::Scope,
        functions: &mut rhai::AST,
    ) -> Result<rhai::Dynamic, EvalError> {
        let ast = self
            .engine
            .compile_with_scope(scope, code)
            .map_err(|e| EvalError {
                message: e.0.to_string(),
                limit: None,
                position: eval::position(e.1),
                span: None,
            })?;
        let program = functions.merge(&ast);
        *functions = functions.merge(&ast.clone_functions_only());
        let limits = &self.sandbox.limits;
        let time = TimeLimit::of(limits);
        let cancel = vec![Arc::clone(&self.cancel)];
        evaluate(&self.engine, &program, scope, limits, time, cancel).map_err(|mut e| {
            e.message = self.sandbox.redact(&e.message);
            e
        })
    }

    /// Evaluates on tokio's blocking pool, so a slow script never stalls the scheduler's
    /// threads; gives the scope back with the result.
    pub async fn eval_off_thread(
        self: &Arc<Self>,
        script: crate::model::step::Script,
        scope: rhai::Scope<'static>,
    ) -> (Result<rhai::Dynamic, EvalError>, rhai::Scope<'static>) {
        let scripts = Arc::clone(self);
        let span = script.span;
        let task = tokio::task::spawn_blocking(move || {
            let mut scope = scope;
            let result = scripts.eval(&script, &mut scope);
            (result, scope)
        });
        match task.await {
            Ok(done) => done,
            Err(e) => (Err(thread_failed(&e, span)), standard_scope()),
        }
    }

    /// Evaluates on tokio's blocking pool with file functions reading from `dir` instead
    /// of the workspace (a story's worktree) when given, within `timeout` instead of
    /// `script_timeout` when given (a task's own), and turns the value into `T` there with
    /// `finish` (so a deep value is never copied, printed or dropped on the caller's
    /// thread). Dropping the future stops the evaluation.
    ///
    /// # Errors
    ///
    /// An [`EvalError`] when the evaluation or `finish` fails, or its thread cannot run.
    pub async fn eval_off_thread_with<T: Send + 'static>(
        self: &Arc<Self>,
        script: crate::model::step::Script,
        mut scope: rhai::Scope<'static>,
        dir: Option<std::path::PathBuf>,
        timeout: Option<Duration>,
        finish: impl FnOnce(rhai::Dynamic) -> Result<T, EvalError> + Send + 'static,
    ) -> Result<T, EvalError> {
        /// Stops the evaluation when the awaiting future is dropped.
        struct StopOnDrop(Arc<AtomicBool>);
        impl Drop for StopOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let scripts = Arc::clone(self);
        let span = script.span;
        let time = match timeout {
            Some(timeout) => TimeLimit {
                timeout,
                set_by: "timeout",
            },
            None => TimeLimit::of(&self.sandbox.limits),
        };
        // Its own flag, so that dropping this future stops only this evaluation.
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let task = tokio::task::spawn_blocking(move || {
            host::with_root(dir, || {
                let value = scripts.eval_within(&script, &mut scope, time, Some(&stop))?;
                finish(value)
            })
        });
        let _stop = StopOnDrop(stopped);
        match task.await {
            Ok(done) => done,
            Err(e) => Err(thread_failed(&e, span)),
        }
    }

    /// The limits every evaluation runs under.
    pub fn limits(&self) -> &Limits {
        &self.sandbox.limits
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            host_of("http://127.0.0.1:8080/health").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            host_of("https://user@Example.com/x").as_deref(),
            Some("example.com")
        );
        assert_eq!(host_of("localhost:5432").as_deref(), Some("localhost"));
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(host_of("::1").as_deref(), Some("::1"));
        assert_eq!(host_of("LocalHost:8080").as_deref(), Some("localhost"));
        assert_eq!(host_of(""), None);
    }
}
