//! Evaluating a compiled script under the sandbox: operation, depth and size limits from
//! the engine, the time, stack, memory and cancellation bounds of [`super::bounds`], and
//! no panic past the evaluation. Errors name the limit that stopped the script.

use super::Limits;
use super::bounds::{self, Bounds, Stop};
use rhai::{AST, Dynamic, Engine, EvalAltResult, Position, Scope};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The time limit of one evaluation and the setting or option that sets it, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimit {
    /// How long it may run.
    pub timeout: Duration,
    /// What sets it: `script_timeout`, or a task's `timeout`.
    pub set_by: &'static str,
}

impl TimeLimit {
    /// The workflow's `script_timeout`.
    pub fn of(limits: &Limits) -> TimeLimit {
        TimeLimit {
            timeout: limits.timeout,
            set_by: "script_timeout",
        }
    }
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

fn explain(e: &EvalAltResult, limits: &Limits, time: TimeLimit) -> (String, Option<&'static str>) {
    match e {
        EvalAltResult::ErrorTerminated(token, _) => match Stop::of(token) {
            Some(Stop::Deadline) | None => (
                format!("stopped at the deadline of {:?}", time.timeout),
                Some(time.set_by),
            ),
            Some(Stop::Cancelled) => ("stopped: the run was stopped".to_string(), None),
            Some(Stop::Stack) => (
                "stopped: calls or values nested too deeply for the evaluating thread's stack (a value nested in itself?)".to_string(),
                None,
            ),
            Some(Stop::Memory) => (
                format!(
                    "stopped: its values took more than {}",
                    crate::model::literal::human_size(limits.max_memory as u64)
                ),
                Some("script_max_memory"),
            ),
        },
        EvalAltResult::ErrorTooManyOperations(_) => (
            format!("stopped after {} operations", limits.max_operations),
            Some("script_max_operations"),
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
            let (m, l) = explain(inner, limits, time);
            (format!("in `{name}`: {m}"), l)
        }
        other => (other.to_string(), None),
    }
}

/// Evaluates `ast` with `scope` under `limits` (the engine must have been built with the
/// same limits by [`super::engine`]), stopped at `time` or when one of the `cancel` flags
/// is set. It runs where the stack has room for every value the limits let it build (on a
/// thread of its own when the caller's stack is too small, see [`super::stack`]), and the
/// values it leaves (its result, the scope's variables) nest at most
/// [`super::values::MAX_KEPT_DEPTH`] levels: deeper ones are dropped there (a variable
/// becomes `()`, a result is an error). A panic inside the engine or a host function is
/// caught and reported as the evaluation's failure: it never reaches the caller's thread.
///
/// # Errors
///
/// An [`EvalError`] when the script fails, passes a limit, runs out of time, is
/// cancelled, panics or gives a value nested too deeply, or when no thread with the stack
/// it needs can be started.
pub fn evaluate(
    engine: &Engine,
    ast: &AST,
    scope: &mut Scope,
    limits: &Limits,
    time: TimeLimit,
    cancel: Vec<Arc<AtomicBool>>,
) -> Result<Dynamic, EvalError> {
    let on_stack = |limits: &Limits| {
        let stack_reserve = super::stack::values_reserve(limits);
        let result = (|| {
            let entered = bounds::enter(&Bounds {
                timeout: time.timeout,
                max_memory: limits.max_memory,
                cancel,
                stack_reserve,
            });
            let run =
                std::panic::AssertUnwindSafe(|| engine.eval_ast_with_scope::<Dynamic>(scope, ast));
            let result = std::panic::catch_unwind(run);
            drop(entered);
            let result = result.map_err(|panic| EvalError {
                message: format!(
                    "the script stopped with an internal error: {}",
                    panic_text(&panic)
                ),
                limit: None,
                position: None,
                span: None,
            })?;
            result.map_err(|e| {
                let (message, limit) = explain(&e, limits, time);
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
        })();
        super::values::keep_shallow(scope);
        result.and_then(|value| {
            if super::values::nests_deeper_than(&value, super::values::MAX_KEPT_DEPTH) {
                return Err(EvalError {
                    message: format!(
                        "its value nests more than {} levels deep",
                        super::values::MAX_KEPT_DEPTH
                    ),
                    limit: None,
                    position: None,
                    span: None,
                });
            }
            Ok(value)
        })
    };
    super::stack::with_stack(limits, on_stack).unwrap_or_else(|e| {
        Err(EvalError {
            message: format!(
                "no thread with the stack its limits need ({} for {} of values) could be started: {e}",
                crate::model::literal::human_size(super::stack::needed(limits) as u64),
                crate::model::literal::human_size(limits.max_memory as u64),
            ),
            limit: Some("script_max_memory"),
            position: None,
            span: None,
        })
    })
}

/// What a caught panic said.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(std::string::ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}
