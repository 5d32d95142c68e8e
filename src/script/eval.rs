//! Evaluating a compiled script under the sandbox: operation, depth and size limits from
//! the engine, and a wall-clock deadline checked from rhai's progress callback. Errors
//! name the limit that stopped the script.

use super::Limits;
use rhai::{AST, Dynamic, Engine, EvalAltResult, Position, Scope};
use std::cell::Cell;
use std::time::Instant;

thread_local! {
    /// The deadline of the evaluation running on this thread.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Time left before this thread's evaluation must stop, if one is running.
pub fn remaining() -> Option<std::time::Duration> {
    DEADLINE
        .with(|d| d.get())
        .map(|d| d.saturating_duration_since(Instant::now()))
}

/// An error when this thread's evaluation is past its deadline: host functions call this
/// before and while they wait, so they cannot outlast the evaluation.
pub fn check_deadline() -> Result<(), Box<EvalAltResult>> {
    if remaining().is_some_and(|left| left.is_zero()) {
        Err(Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::from("deadline"),
            Position::NONE,
        )))
    } else {
        Ok(())
    }
}

/// Restores the previous deadline when an evaluation ends, even by a panic.
struct DeadlineGuard(Option<Instant>);

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.0));
    }
}

/// Makes the engine stop an evaluation whose deadline has passed (checked every 256
/// operations: reading the clock on every one would cost more than most conditions).
pub fn install_deadline(engine: &mut Engine) {
    engine.on_progress(|ops| {
        if ops % 256 != 0 {
            return None;
        }
        let late = DEADLINE.with(|d| d.get().is_some_and(|d| Instant::now() > d));
        late.then(|| Dynamic::from("deadline"))
    });
}

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// What happened, naming the limit when one stopped the script.
    pub message: String,
    /// The setting that raises the limit, when a limit stopped it.
    pub limit: Option<&'static str>,
    /// Line and column in the script, when known.
    pub position: Option<(usize, usize)>,
    /// The place in the .bmad file, when evaluated through [`super::Scripts`].
    pub span: Option<crate::source::Span>,
}

pub(crate) fn position(p: Position) -> Option<(usize, usize)> {
    Some((p.line()?, p.position().unwrap_or(1)))
}

fn explain(e: &EvalAltResult, limits: &Limits) -> (String, Option<&'static str>) {
    match e {
        EvalAltResult::ErrorTooManyOperations(_) => (
            format!("stopped after {} operations", limits.max_operations),
            Some("script_max_operations"),
        ),
        EvalAltResult::ErrorTerminated(..) => (
            format!("stopped at the deadline of {:?}", limits.timeout),
            Some("script_timeout"),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            format!("calls nested deeper than {}", limits.max_call_depth),
            Some("script_max_call_depth"),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) if what.contains("tring") => (
            format!("{what} is over {} bytes", limits.max_string),
            Some("script_max_string"),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) if what.contains("ap") => {
            (format!("{what} is over {} entries", limits.max_map), None)
        }
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            format!("{what} is over {} elements", limits.max_array),
            Some("script_max_array"),
        ),
        EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
            let (m, l) = explain(inner, limits);
            (format!("in `{name}`: {m}"), l)
        }
        other => (other.to_string(), None),
    }
}

/// Evaluates `ast` with `scope` under `limits` (the engine must have been built with the
/// same limits by [`super::engine`]).
pub fn evaluate(
    engine: &Engine,
    ast: &AST,
    scope: &mut Scope,
    limits: &Limits,
) -> Result<Dynamic, EvalError> {
    let guard = DeadlineGuard(DEADLINE.with(|d| d.replace(Some(Instant::now() + limits.timeout))));
    let result = engine.eval_ast_with_scope::<Dynamic>(scope, ast);
    drop(guard);
    result.map_err(|e| {
        let (message, limit) = explain(&e, limits);
        let message = match limit {
            Some(setting) => format!("{message} (limit `{setting}`)"),
            None => message,
        };
        EvalError {
            message,
            limit,
            position: position(e.position()),
            span: None,
        }
    })
}
